// The one way a targeting rule's regular expression is compiled, when a policy is validated and when the
// data plane builds its rules, so both agree. On a value the client chooses (up to 1,024 characters), a
// backtracking engine takes ~2 ms on `.*x`, 44 s on `^.*;.*;.*;.*x` and exponential time on `^(a+)+$`; V8's
// linear-time engine (the `l` flag) ~40 µs on any of them, but ~0.5 µs on a short value where backtracking
// takes ~20 ns. So an expression that repeats without bound (or nests repeats) runs on the linear engine when
// that engine can run it; one that cannot (a backreference, a lookaround, a large bounded repeat) backtracks,
// and is refused when regex-risk.ts finds a dangerous shape. The rest backtrack: they have nothing to retry.
import v8 from 'node:v8';
import { regexShape } from '../domain/regex-risk.js';

let linearEngine: boolean | null = null;

/** V8's linear-time engine behind the `l` flag: enabled once, before the first expression needs it. */
function linearAvailable(): boolean {
  if (linearEngine === null) {
    v8.setFlagsFromString('--enable-experimental-regexp-engine');
    try {
      linearEngine = new RegExp('^(a+)+$', 'l').test('a'.repeat(64) + '!') === false;
    } catch {
      // A Node whose V8 has no such engine: every risky expression is refused.
      linearEngine = false;
    }
  }
  return linearEngine;
}

export type RuleRegex = { ok: true; re: RegExp } | { ok: false; message: string };

export function compileRuleRegex(source: string): RuleRegex {
  let re: RegExp;
  try {
    re = new RegExp(source);
  } catch (e) {
    // "Invalid regular expression: /(/: Unterminated group" → the reason only.
    const why = e instanceof Error ? e.message.slice(e.message.lastIndexOf(': ') + 2) : String(e);
    return { ok: false, message: `is not a valid regular expression (${why})` };
  }
  const { risk, unbounded } = regexShape(source);
  if (risk === null && unbounded === 0) return { ok: true, re };
  if (linearAvailable()) {
    try {
      return { ok: true, re: new RegExp(source, 'l') };
    } catch {
      // Backreferences, lookarounds and large bounded repeats are beyond the linear engine.
    }
  }
  if (risk === null) return { ok: true, re };
  return { ok: false, message: `${risk} on a value that almost matches (and the linear-time engine cannot run it)` };
}
