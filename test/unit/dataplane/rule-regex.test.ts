// Targeting regexes that could backtrack exponentially on a client's value: found without running them,
// run on V8's linear-time engine when it can, refused otherwise. Outcomes, not timings: a value that would
// take the backtracking engine years is answered here at once (the test would time out otherwise).
import { describe, expect, it } from 'vitest';
import { compileRuleRegex } from '../../../src/dataplane/rule-regex.js';
import { regexRisk } from '../../../src/domain/regex-risk.js';

describe('regexRisk', () => {
  it('finds a repeated group that repeats or alternates inside', () => {
    for (const s of [
      '^(a+)+$',
      '(a*)*',
      '(a|aa)+',
      '(x+x+)+y',
      '^(\\w+\\s?)*$',
      '((ab)*)+',
      '(a{2,})+',
      '(?:a?b?)+',
      '(a|b){2,}',
    ])
      expect(regexRisk(s), s).not.toBeNull();
  });

  it('passes what backtracks at most polynomially, and reads escapes and classes as text', () => {
    for (const s of [
      '^canary$',
      '^v[0-9]+\\.[0-9]+$',
      '^(alpha|beta)$',
      '(ab)+',
      '(a+)?',
      '[(a+)+]',
      '\\(a+\\)+',
      '^[a-z]{2,40}$',
      '(a){1}',
      '(a+){0,1}',
    ])
      expect(regexRisk(s), s).toBeNull();
  });
});

describe('compileRuleRegex', () => {
  const almost = 'a'.repeat(5_000) + '!';

  it('runs a risky expression on the linear-time engine, with the same answers', () => {
    const r = compileRuleRegex('^(a+)+$');
    if (!r.ok) throw new Error(r.message);
    expect(r.re.flags).toContain('l');
    expect(r.re.test('aaaa')).toBe(true);
    expect(r.re.test(almost)).toBe(false);
    const dotted = compileRuleRegex('^([a-z0-9-]+\\.)+example\\.com$');
    if (!dotted.ok) throw new Error(dotted.message);
    expect(['a.example.com', 'x.y-z.example.com', 'example.com'].map((v) => dotted.re.test(v))).toEqual([
      true,
      true,
      false,
    ]);
  });

  it('refuses a risky expression the linear engine cannot run (a backreference, a large bounded repeat)', () => {
    for (const s of ['^(a+)+\\1$', '^([a-z]{2,40})+$'])
      expect(compileRuleRegex(s)).toEqual({ ok: false, message: expect.stringMatching(/can take exponential time/) });
  });

  it('compiles a plain expression as written, and names a syntax error', () => {
    const r = compileRuleRegex('^beta-[0-9]+$');
    expect(r.ok && r.re.flags).toBe('');
    expect(compileRuleRegex('(')).toEqual({
      ok: false,
      message: expect.stringMatching(/^is not a valid regular expression/),
    });
  });
});
