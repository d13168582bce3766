// `${VAR}` / `${VAR:-default}` interpolation of config values. It runs on parsed scalars, never on the
// raw text, so a value containing quotes, colons or `#` can't change the document's structure.
// Pure: the environment is an argument.
import { type Document, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Problem } from '../domain/errors.js';
import { formatPath } from './problems.js';

export type Env = Readonly<Record<string, string | undefined>>;
type PathKey = string | number;

export type ScalarResult = { ok: true; value: unknown } | { ok: false; value: string; messages: string[] };

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
/** Defaults nest (`${A:-${B:-x}}`, as in Compose) this deep at most: deeper is a problem, not a deep stack. */
const MAX_DEPTH = 10;
const TOO_DEEP = `defaults nested more than ${MAX_DEPTH} deep`;
const USAGE = 'expected ${NAME} or ${NAME:-default}';
const UNTERMINATED = 'unterminated "${" (write "$${" for a literal "${")';

interface Expanded {
  text: string;
  /** Where reading stopped: the end of the text, or just past the brace that closed a default. */
  end: number;
  closed: boolean;
}

/**
 * Substitutes every expression in `text`. Unset variables without a default are reported and replaced
 * by "" so validation can still look at the rest. Defaults apply when the variable is unset or empty, and
 * may hold expressions themselves; `$${` is a literal `${`.
 */
export function substitute(text: string, env: Env): { text: string; messages: string[] } {
  const messages: string[] = [];
  return { text: expand(text, 0, env, messages, 0).text, messages };
}

/** From `start` to the end of `text`, or (depth > 0, inside a default) to the brace that closes it. */
function expand(text: string, start: number, env: Env, messages: string[], depth: number): Expanded {
  let out = '';
  let i = start;
  for (;;) {
    const at = text.indexOf('$', i);
    const stop = depth > 0 ? text.indexOf('}', i) : -1;
    if (stop !== -1 && (at === -1 || stop < at))
      return { text: out + text.slice(i, stop), end: stop + 1, closed: true };
    if (at === -1) return { text: out + text.slice(i), end: text.length, closed: false };
    out += text.slice(i, at);
    if (text.startsWith('$${', at)) [out, i] = [out + '${', at + 3];
    else if (text.startsWith('${', at)) {
      const e = expression(text, at, env, messages, depth);
      [out, i] = [out + e.text, e.end];
    } else [out, i] = [out + '$', at + 1];
  }
}

/** The expression starting at `at` (its `${`): its value, and where it ended. */
function expression(text: string, at: number, env: Env, messages: string[], depth: number): Expanded {
  NAME.lastIndex = at + 2;
  const name = NAME.exec(text)?.[0];
  const after = at + 2 + (name?.length ?? 0);
  const raw = (end: number, message: string): Expanded => {
    messages.push(message);
    return { text: text.slice(at, end), end, closed: message !== UNTERMINATED && message !== TOO_DEEP };
  };
  if (name !== undefined && text[after] === '}') {
    const v = env[name];
    if (v === undefined) messages.push(`environment variable ${name} is not set`);
    return { text: v ?? '', end: after + 1, closed: true };
  }
  if (name !== undefined && text.startsWith(':-', after)) {
    if (depth + 1 > MAX_DEPTH) return raw(text.length, TOO_DEEP);
    // The default's own problems count only when it is used.
    const own: string[] = [];
    const d = expand(text, after + 2, env, own, depth + 1);
    // Reading stopped at a default nested too deep, or at the end of the text without the closing brace.
    if (!d.closed) return raw(text.length, own.includes(TOO_DEEP) ? TOO_DEEP : UNTERMINATED);
    const v = env[name];
    if (v !== undefined && v !== '') return { text: v, end: d.end, closed: true };
    messages.push(...own);
    return { text: d.text, end: d.end, closed: true };
  }
  const close = text.indexOf('}', at);
  if (close === -1) return raw(text.length, UNTERMINATED);
  return raw(close + 1, `invalid expression "${text.slice(at, close + 1)}": ${USAGE}`);
}

/** Whether `text` is exactly one `${…}` expression (then a plain scalar's value is read again as YAML). */
function isWhole(text: string): boolean {
  if (!text.startsWith('${')) return false;
  const e = expression(text, 0, {}, [], 0);
  return e.closed && e.end === text.length;
}

/**
 * Interpolates one scalar. When the whole scalar was one expression and `reread` is set (a plain,
 * unquoted YAML scalar), the result is read again as a YAML scalar so `minRequests: ${MIN}` is a number.
 */
export function interpolateScalar(text: string, env: Env, reread: boolean): ScalarResult {
  if (!text.includes('${')) return { ok: true, value: text };
  const r = substitute(text, env);
  if (r.messages.length > 0) return { ok: false, value: r.text, messages: r.messages };
  return { ok: true, value: reread && isWhole(text) ? readScalar(r.text) : r.text };
}

/** YAML 1.2 core-schema reading of one scalar; anything that isn't a lone plain scalar stays text. */
export function readScalar(text: string): unknown {
  // An empty substitution is an empty string, not YAML's null: `token: ${TOKEN:-}` must stay a string.
  if (text.trim() === '') return text;
  const doc = parseDocument(text, { schema: 'core' });
  if (doc.errors.length > 0 || doc.warnings.length > 0 || doc.comment || doc.commentBefore) return text;
  const node = doc.contents;
  if (!isScalar(node) || node.type !== 'PLAIN' || node.comment) return text;
  return typeof node.value === 'string' ? text : node.value;
}

/** Interpolates the string scalars of a parsed YAML document in place; returns the problems. */
export function interpolateDocument(doc: Document, env: Env): Problem[] {
  const problems: Problem[] = [];
  walkNode(doc.contents, [], env, problems);
  return problems;
}

function walkNode(node: unknown, path: PathKey[], env: Env, problems: Problem[]): void {
  if (isMap(node)) {
    for (const pair of node.items) walkNode(pair.value, [...path, keyName(pair.key)], env, problems);
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => walkNode(item, [...path, i], env, problems));
  } else if (isScalar(node) && typeof node.value === 'string') {
    // Quoted, block and explicitly tagged scalars were written as text on purpose: keep them text.
    const plain = node.type === 'PLAIN' && !node.tag;
    const r = interpolateScalar(node.value, env, plain);
    if (!r.ok) problems.push(...r.messages.map((message) => ({ path: formatPath(path), message })));
    node.value = r.value;
  }
  // Aliases point at a node that is interpolated where it is anchored.
}

function keyName(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/** Interpolates a plain JSON-like tree (every string is treated like a plain YAML scalar). */
export function interpolateValue(value: unknown, env: Env): { value: unknown; problems: Problem[] } {
  const problems: Problem[] = [];
  return { value: walkValue(value, [], env, problems), problems };
}

function walkValue(v: unknown, path: PathKey[], env: Env, problems: Problem[]): unknown {
  if (typeof v === 'string') {
    const r = interpolateScalar(v, env, true);
    if (!r.ok) problems.push(...r.messages.map((message) => ({ path: formatPath(path), message })));
    return r.value;
  }
  if (Array.isArray(v)) return v.map((item, i) => walkValue(item, [...path, i], env, problems));
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walkValue(item, [...path, k], env, problems)]));
  }
  return v;
}
