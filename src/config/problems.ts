// Turns zod issues into operator-facing problems: one per offending field, with a path that reads like
// the config file (`services[0].rollout.steps[2]`) and a message that says what was expected.
// Zod's own default messages ("Invalid input: expected int, received number") read like a stack trace,
// so `configErrorMap` replaces them wherever the schema did not give its own message.
import type { z } from 'zod';
import { type ConfigError, type Problem, err, ok, type Result } from '../domain/errors.js';

type Issue = z.core.$ZodIssue;
type RawIssue = z.core.$ZodRawIssue;
type PathKey = PropertyKey;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const UNKNOWN_KEY = 'unknown key';

export function formatPath(path: readonly PathKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && IDENTIFIER.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** One problem per issue, except that each unknown key of an object gets a problem of its own. */
export function zodIssuesToProblems(issues: readonly Issue[]): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      // Without configErrorMap the message is zod's ("Unrecognized keys: …"), which names all keys at once.
      const message = issue.message.startsWith(UNKNOWN_KEY) ? issue.message : UNKNOWN_KEY;
      for (const key of issue.keys) problems.push({ path: formatPath([...issue.path, key]), message });
    } else {
      problems.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return problems;
}

/** Validates `input` against `schema` with operator-friendly messages. */
export function validateWith<S extends z.ZodType>(schema: S, input: unknown): Result<z.output<S>, Problem[]> {
  const r = schema.safeParse(input, { error: configErrorMap });
  return r.success ? ok(r.data) : err(zodIssuesToProblems(r.error.issues));
}

/**
 * Per-parse zod error map. Schema-supplied messages take precedence over it (zod's rule), so this only
 * rewrites the generic ones. Returning undefined falls back to zod's default.
 */
export function configErrorMap(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined
        ? `required (expected ${expectedType(issue.expected)})`
        : `expected ${expectedType(issue.expected)}, got ${describe(issue.input)}`;
    case 'too_big':
      return tooBig(issue.origin, issue.maximum, issue.inclusive !== false);
    case 'too_small':
      return tooSmall(issue.origin, issue.minimum, issue.inclusive !== false);
    case 'invalid_value':
      return `expected ${issue.values
        .map((v) => JSON.stringify(v))
        .join(', ')
        .replace(/, ([^,]*)$/, ' or $1')}, got ${describe(issue.input)}`;
    case 'unrecognized_keys':
      return unknownKeyMessage(issue.inst);
    case 'invalid_union':
      return unionMessage(issue.errors, issue.input);
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'invalid_format':
      return issue.pattern ? `must match ${issue.pattern}` : `must be a valid ${issue.format}`;
    case 'invalid_key':
    case 'invalid_element':
    case 'custom':
      return undefined;
    default:
      return undefined;
  }
}

/** Human report, one problem per line, no stack trace. */
export function formatProblems(error: ConfigError, source?: string): string {
  const where = source ? `${source}: ` : '';
  if (error.problems.length === 0)
    return source && !error.message.includes(source) ? `${where}${error.message}` : error.message;
  const n = error.problems.length;
  const lines = error.problems.map((p) => `  ${p.path ? `${p.path}: ` : ''}${oneLine(p.message)}`);
  return [`${where}invalid configuration (${n} problem${n === 1 ? '' : 's'}):`, ...lines].join('\n');
}

/** One line per warning: `warning: <path>: <message>`. */
export function formatWarning(p: Problem): string {
  return `warning: ${p.path ? `${p.path}: ` : ''}${oneLine(p.message)}`;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping (key: value)',
  record: 'a mapping (key: value)',
  array: 'a list',
  null: 'null',
};

function expectedType(expected: string): string {
  return TYPE_NAMES[expected] ?? expected;
}

/** A short rendering of a value the operator wrote, for "got …". */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null (an empty value)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string')
    return v === '' ? 'an empty string' : JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  return String(v);
}

/** What kind of value the operator gave, for "got …" where repeating the value itself is unwanted. */
export function kindOf(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'boolean') return 'a boolean';
  return typeof v === 'string' ? 'a string' : typeof v === 'number' ? 'a number' : typeof v;
}

function tooBig(origin: string, max: number | bigint, inclusive: boolean): string {
  switch (origin) {
    case 'array':
      return `must have at most ${max} item${max === 1 ? '' : 's'}`;
    case 'string':
      return `must be at most ${max} characters long`;
    default:
      return `must be ${inclusive ? '≤' : '<'} ${max}`;
  }
}

function tooSmall(origin: string, min: number | bigint, inclusive: boolean): string {
  switch (origin) {
    case 'array':
      return Number(min) === 1 ? 'must not be empty' : `must have at least ${min} items`;
    case 'string':
      return Number(min) === 1 ? 'must not be empty' : `must be at least ${min} characters long`;
    default:
      return `must be ${inclusive ? '≥' : '>'} ${min}`;
  }
}

function unknownKeyMessage(inst: unknown): string {
  const shape = (inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape;
  if (!shape) return UNKNOWN_KEY;
  const keys = Object.keys(shape);
  // An empty list would read as a glitch: say plainly that nothing is accepted.
  return keys.length === 0
    ? `${UNKNOWN_KEY} (this request takes no fields)`
    : `${UNKNOWN_KEY} (expected one of: ${keys.join(', ')})`;
}

/**
 * A union fails when no branch matches. If exactly one branch accepted the input's type and only failed
 * a refinement, its message is the useful one; otherwise list what each branch would have accepted.
 */
function unionMessage(branches: readonly (readonly Issue[])[], input: unknown): string | undefined {
  const isTypeMiss = (i: Issue) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value');
  const near = branches.filter((b) => b.length > 0 && !b.every(isTypeMiss));
  if (near.length === 1 && near[0]?.[0]) return near[0][0].message;
  const wanted: string[] = [];
  for (const b of branches) {
    for (const i of b) {
      if (i.code === 'invalid_type' && i.path.length === 0) wanted.push(expectedType(i.expected));
      else if (i.code === 'invalid_value' && i.path.length === 0)
        wanted.push(...i.values.map((v) => JSON.stringify(v)));
    }
  }
  return wanted.length > 0 ? `expected ${wanted.join(' or ')}, got ${describe(input)}` : undefined;
}
