// `${VAR}` / `${VAR:-default}` interpolation of config values. It runs on parsed scalars, never on the
// raw text, so a value containing quotes, colons or `#` can't change the document's structure.
// Pure: the environment is an argument.
import { type Document, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Problem } from '../domain/errors.js';
import { formatPath } from './problems.js';

export type Env = Readonly<Record<string, string | undefined>>;
type PathKey = string | number;

export type ScalarResult = { ok: true; value: unknown } | { ok: false; value: string; messages: string[] };

// `$${` is the escape; `${…}` an expression; a `${` with no closing brace is reported.
const TOKEN = /\$\$\{|\$\{([^}]*)(\}?)/g;
const EXPRESSION = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;
const WHOLE = /^\$\{[^}]*\}$/;

/**
 * Substitutes every expression in `text`. Unset variables without a default are reported and replaced
 * by "" so validation can still look at the rest. Defaults apply when the variable is unset or empty.
 */
export function substitute(text: string, env: Env): { text: string; messages: string[] } {
  const messages: string[] = [];
  const out = text.replace(TOKEN, (token: string, inner: string | undefined, close: string | undefined) => {
    if (token === '$${') return '${';
    if (!close) {
      messages.push(`unterminated "\${" (write "$\${" for a literal "\${")`);
      return token;
    }
    const m = EXPRESSION.exec(inner ?? '');
    if (!m) {
      messages.push(`invalid expression "${token}": expected \${NAME} or \${NAME:-default}`);
      return token;
    }
    const [, name = '', fallback] = m;
    const v = env[name];
    if (fallback !== undefined) return v === undefined || v === '' ? fallback : v;
    if (v === undefined) messages.push(`environment variable ${name} is not set`);
    return v ?? '';
  });
  return { text: out, messages };
}

/**
 * Interpolates one scalar. When the whole scalar was one expression and `reread` is set (a plain,
 * unquoted YAML scalar), the result is read again as a YAML scalar so `minRequests: ${MIN}` is a number.
 */
export function interpolateScalar(text: string, env: Env, reread: boolean): ScalarResult {
  if (!text.includes('${')) return { ok: true, value: text };
  const r = substitute(text, env);
  if (r.messages.length > 0) return { ok: false, value: r.text, messages: r.messages };
  return { ok: true, value: reread && WHOLE.test(text) ? readScalar(r.text) : r.text };
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
