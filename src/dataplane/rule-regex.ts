// The one way a targeting rule's regular expression is compiled, when a policy is validated and when the
// data plane builds its rules, so both agree. Every expression V8's linear-time engine (the `l` flag) can run
// runs there: a backtracking engine takes polynomial time of a high degree on `^.*;.*;.*;.*x` (44 s on 1,024
// characters) and exponential time on `^(a+)+$`, on a value the client chooses. The rest (backreferences,
// lookarounds, large bounded repeats) backtrack, and are refused when regex-risk.ts finds such a shape.
import v8 from 'node:v8';
import { regexRisk } from '../domain/regex-risk.js';

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
  if (linearAvailable()) {
    try {
      return { ok: true, re: new RegExp(source, 'l') };
    } catch {
      // Backreferences, lookarounds and large bounded repeats are beyond the linear engine.
    }
  }
  const risk = regexRisk(source);
  if (risk === null) return { ok: true, re };
  return { ok: false, message: `${risk} on a value that almost matches (and the linear-time engine cannot run it)` };
}
