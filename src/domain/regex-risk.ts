// Whether an operator's regular expression can take exponential time. JavaScript's engine backtracks: a
// group that repeats and can itself match the same text in more than one way (it repeats inside, or it
// alternates) tries every way on an input that almost matches. `^(a+)+$` against 30 `a`s and a `!` took
// seconds, doubling with each `a`, and the value is the client's (a header, a cookie): one request would stop
// the process. Such a group is refused where the expression is given; everything else backtracks at most
// polynomially in the value, whose length the data plane bounds. Pure: no engine is run.

interface Group {
  /** Whether what the group holds repeats or alternates (so it may match one text in several ways). */
  ambiguous: boolean;
}

/** Whether `source[i]` starts a quantifier that repeats (`*`, `+`, `{n,}`, `{n,m}` with m > 1). */
function repeats(source: string, i: number): boolean {
  const c = source[i];
  if (c === '*' || c === '+') return true;
  if (c !== '{') return false;
  const m = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i));
  if (m === null) return false;
  if (m[2] === undefined) return Number(m[1]) > 1;
  return m[3] === '' || Number(m[3]) > 1;
}

/** Whether `source[i]` starts any quantifier (`?` included: it makes the group optional, not repeated). */
function quantifies(source: string, i: number): boolean {
  return source[i] === '?' || repeats(source, i);
}

/**
 * Why `source` may backtrack exponentially (a repeated group that repeats or alternates inside), or null.
 * Escapes and character classes are skipped; a lookaround or a backreference is treated as a group.
 */
export function regexRisk(source: string): string | null {
  const stack: Group[] = [{ ambiguous: false }];
  let inClass = false;
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
    else if (c === '(') stack.push({ ambiguous: false });
    else if (c === '|') top.ambiguous = true;
    else if (c === ')' && stack.length > 1) {
      const closed = stack.pop() as Group;
      const parent = stack[stack.length - 1] as Group;
      if (closed.ambiguous && repeats(source, i + 1))
        return 'a repeated group that itself repeats or alternates, e.g. (a+)+ or (a|b)*, can take exponential time';
      // The group as a whole, when quantified, is one more way to match inside its parent.
      if (closed.ambiguous || quantifies(source, i + 1)) parent.ambiguous = true;
    } else if (quantifies(source, i)) top.ambiguous = true;
  }
  return null;
}
