// Command-line parsing with node:util parseArgs: one option table for all commands, then a check
// that the command accepts what was given (so `veer shift web 5 --json` is a usage error, not ignored).
import { parseArgs } from 'node:util';
import { VeerError, err, ok, type Result } from '../domain/errors.js';
import { isServiceName, SERVICE_NAME_RULE } from '../domain/service-name.js';
import { parseProblem } from './arg-problems.js';

export const OPTIONS = {
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
  admin: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  targets: { type: 'string' },
  image: { type: 'string' },
  env: { type: 'string', multiple: true },
  count: { type: 'string' },
  steps: { type: 'string' },
  'step-interval': { type: 'string' },
  strategy: { type: 'string' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  full: { type: 'boolean' },
  reason: { type: 'string' },
  'dry-run': { type: 'boolean' },
  runs: { type: 'string' },
  policy: { type: 'string' },
  seed: { type: 'string' },
  'max-seconds': { type: 'string' },
  mode: { type: 'string' },
  'retry-after': { type: 'string' },
  watch: { type: 'boolean', short: 'w' },
  interval: { type: 'string' },
} as const;
export type OptionName = keyof typeof OPTIONS;
/** The options that take a value (`--config <file>`), not a switch (`--json`). */
export type ValueOption = { [K in OptionName]: (typeof OPTIONS)[K]['type'] extends 'string' ? K : never }[OptionName];

export interface OptionValues {
  config?: string;
  json?: boolean;
  admin?: string;
  token?: string;
  help?: boolean;
  version?: boolean;
  targets?: string;
  image?: string;
  env?: string[];
  count?: string;
  steps?: string;
  'step-interval'?: string;
  strategy?: string;
  wait?: boolean;
  timeout?: string;
  full?: boolean;
  reason?: string;
  'dry-run'?: boolean;
  runs?: string;
  policy?: string;
  seed?: string;
  'max-seconds'?: string;
  mode?: string;
  'retry-after'?: string;
  watch?: boolean;
  interval?: string;
}

export interface ParsedArgs {
  command: string | undefined;
  /** Positionals after the command name. */
  positionals: string[];
  values: OptionValues;
  given: OptionName[];
}

export class UsageError extends VeerError {
  /** `command`: the command the line names, when known (its synopsis goes with the message). */
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super('usage', 400, message);
  }
}

// parseArgs reads "-5" as an unknown short option; a weight of -5 must reach the API's validation
// instead, so negative numbers are hidden behind a marker while parsing.
const NEGATIVE_NUMBER = /^-\d+(\.\d*)?$/;
const MARK = '\u0000';
const hide = (a: string): string => (NEGATIVE_NUMBER.test(a) ? MARK + a : a);
const unhide = (a: string): string => (a.startsWith(MARK) ? a.slice(MARK.length) : a);

export function parseCliArgs(argv: readonly string[]): Result<ParsedArgs, UsageError> {
  let parsed: ReturnType<typeof parseWithTokens>;
  const args = argv.map(hide);
  try {
    parsed = parseWithTokens(args);
  } catch (e) {
    const problem = parseProblem(args, OPTIONS, e);
    return err(new UsageError(problem.message, problem.command));
  }
  const positionals = parsed.positionals.map(unhide);
  const given = new Set<OptionName>();
  for (const t of parsed.tokens) {
    if (t.kind !== 'option') continue;
    const name = t.name as OptionName;
    // parseArgs keeps the last of a repeated option: the first would be dropped without a word.
    if (given.has(name) && !('multiple' in OPTIONS[name]))
      return err(new UsageError(`option --${name} is given more than once: give it once`, positionals[0]));
    given.add(name);
  }
  const values: OptionValues = {};
  for (const [k, v] of Object.entries(parsed.values)) {
    (values as Record<string, unknown>)[k] =
      typeof v === 'string' ? unhide(v) : Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? unhide(x) : x)) : v;
  }
  return ok({ command: positionals[0], positionals: positionals.slice(1), values, given: [...given] });
}

function parseWithTokens(args: string[]) {
  return parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
}

const ALWAYS_ALLOWED: readonly OptionName[] = ['help', 'version'];

export interface ArgsSpec {
  name: string;
  options: readonly OptionName[];
  positionals: { min: number; max: number };
  /** The first positional, when given, names a service. */
  service?: boolean;
}

export function checkCommandArgs(args: ParsedArgs, spec: ArgsSpec): Result<void, UsageError> {
  for (const name of args.given) {
    if (!spec.options.includes(name) && !ALWAYS_ALLOWED.includes(name)) {
      return err(new UsageError(`option --${name} is not accepted by "veer ${spec.name}"`));
    }
  }
  const n = args.positionals.length;
  if (n < spec.positionals.min)
    return err(new UsageError(`"veer ${spec.name}" needs ${spec.positionals.min} argument(s), got ${n}`));
  if (n > spec.positionals.max) {
    return err(
      new UsageError(
        `"veer ${spec.name}" takes at most ${spec.positionals.max} argument(s), got ${n}: ` +
          `unexpected "${args.positionals[spec.positionals.max]}"`,
      ),
    );
  }
  const service = args.positionals[0];
  return spec.service === true && service !== undefined ? checkServiceName(service) : ok(undefined);
}

/**
 * A service name is part of the API's paths: ".", ".." or "a/b" would reach another route (`veer history .`
 * read /v1/services/rollouts), so only names the config accepts are sent.
 */
export function checkServiceName(name: string): Result<void, UsageError> {
  if (isServiceName(name)) return ok(undefined);
  return err(
    new UsageError(
      `<service>: expected a service name as in the config (${SERVICE_NAME_RULE}), got ${JSON.stringify(name)}`,
    ),
  );
}
