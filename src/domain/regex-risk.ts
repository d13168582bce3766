// Whether an operator's regular expression can take a backtracking engine exponential time, or polynomial
// time of a high degree, on a value that almost matches. A group that repeats and can itself match the same
// text in more than one way (it repeats inside, or it alternates) tries every way: `^(a+)+$` against 30 `a`s
// and a `!` took seconds, doubling with each `a`. Unbounded repeats in a row split the value every way they
// can: `^.*;.*;.*;.*x` took 44 s on 1,024 `;`, and wide bounded ones as well: `[^!]{0,999}[^!]{0,999}!` took
// 2.5 s on 1,024 characters, and V8's linear engine cannot run a bound above 16. The value is the client's (a
// header, a cookie), so one request would stop the process. Read for the expressions V8's linear-time engine
// cannot run (rule-regex.ts). Pure.

interface Group {
  /** Whether what the group holds repeats or alternates (so it may match one text in several ways). */
  ambiguous: boolean;
}

/** The length of a quantifier that repeats without bound at `source[i]` (`*`, `+`, `{n,}`), else 0. */
function unbounded(source: string, i: number): number {
  const c = source[i];
  if (c === '*' || c === '+') return 1;
  const m = c === '{' ? /^\{\d+,\}/.exec(source.slice(i)) : null;
  return m === null ? 0 : m[0].length;
}

/**
 * How many ways a bounded quantifier at `source[i]` (`{n,m}`, `?`) can split a value: m − n + 1; 1 for none,
 * Infinity for an unbounded one.
 */
function spread(source: string, i: number): number {
  if (unbounded(source, i) > 0) return Infinity;
  if (source[i] === '?') return 2;
  const m = source[i] === '{' ? /^\{(\d+)(?:,(\d+))?\}/.exec(source.slice(i)) : null;
  return m === null ? 1 : Math.max(1, Number(m[2] ?? m[1]) - Number(m[1]) + 1);
}

/** A bounded repeat this wide splits a value as an unbounded one does, as far as a value of 1,024 goes. */
const WIDE = 32;
/** The bounded repeats of one expression together may split a value at most this many ways. */
const MAX_SPLITS = 2 ** 20;

/** Whether `source[i]` starts a quantifier that repeats (`*`, `+`, `{n,}`, `{n,m}` with m > 1). */
function repeats(source: string, i: number): boolean {
  if (unbounded(source, i) > 0) return true;
  const m = source[i] === '{' ? /^\{(\d+)(?:,(\d+))?\}/.exec(source.slice(i)) : null;
  return m !== null && Number(m[2] ?? m[1]) > 1;
}

/** Whether `source[i]` starts any quantifier (`?` included: it makes the group optional, not repeated). */
function quantifies(source: string, i: number): boolean {
  return source[i] === '?' || repeats(source, i);
}

/** The length of a group's prefix after `(`: `?:`, `?=`, `?!`, `?<=`, `?<!`, `?<name>` (0 for none). */
function groupPrefix(source: string, i: number): number {
  const m = /^\?(?::|=|!|<=|<!|<[A-Za-z_$][\w$]*>)/.exec(source.slice(i));
  return m === null ? 0 : m[0].length;
}

const NESTED = 'a repeated group that itself repeats or alternates, e.g. (a+)+ or (a|b)*, can take exponential time';
const IN_A_ROW =
  'two or more unbounded or wide repeats, e.g. .*;.* or [a-z]{0,500}[a-z]{0,500}, can take polynomial time of a ' +
  'high degree';

/**
 * What one walk over `source` finds: the first risky shape (or null), and how many unbounded repeats (wide
 * bounded ones included: the linear engine is asked for them too).
 */
export function regexShape(source: string): { risk: string | null; unbounded: number } {
  const stack: Group[] = [{ ambiguous: false }];
  let inClass = false;
  let risk: string | null = null;
  let count = 0;
  let splits = 1;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    const top = stack[stack.length - 1] as Group;
    if (c === '[') inClass = true;
    else if (c === '(') {
      stack.push({ ambiguous: false });
      i += groupPrefix(source, i + 1);
    } else if (c === '|') top.ambiguous = true;
    else if (c === ')' && stack.length > 1) {
      const closed = stack.pop() as Group;
      const parent = stack[stack.length - 1] as Group;
      if (closed.ambiguous && repeats(source, i + 1)) risk ??= NESTED;
      // The group as a whole, when quantified, is one more way to match inside its parent.
      if (closed.ambiguous || quantifies(source, i + 1)) parent.ambiguous = true;
    } else if (quantifies(source, i)) top.ambiguous = true;
    if (inClass) continue;
    const ways = spread(source, i);
    if (ways >= WIDE && ++count >= 2) risk ??= IN_A_ROW;
    if (ways < WIDE && (splits = Math.min(splits * ways, MAX_SPLITS)) >= MAX_SPLITS) risk ??= IN_A_ROW;
  }
  return { risk, unbounded: count };
}

/** Whether `source` repeats anything without bound (`*`, `+`, `{n,}`): the shape that backtracking scans twice. */
export function repeatsUnbounded(source: string): boolean {
  return regexShape(source).unbounded > 0;
}

/**
 * Why `source` may backtrack exponentially or polynomially to a high degree, or null. Escapes and character
 * classes are skipped; a lookaround or a backreference is read as a group.
 */
export function regexRisk(source: string): string | null {
  return regexShape(source).risk;
}
