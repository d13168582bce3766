// Targeting regexes that could backtrack exponentially on a client's value: found without running them,
// run on V8's linear-time engine when it can, refused otherwise. Outcomes, not timings: a value that would
// take the backtracking engine years is answered here at once (the test would time out otherwise).
import { describe, expect, it } from 'vitest';
import { compileRuleRegex } from '../../../src/dataplane/rule-regex.js';
import { regexRisk, repeatsUnbounded } from '../../../src/domain/regex-risk.js';

describe('regexRisk', () => {
  it('finds a repeated group that repeats or alternates inside', () => {
    for (const s of [
      '^(a+)+$',
      '(a*)*',
      '(a|aa)+',
      '((ab)*)+',
      '(a{2,})+',
      '(?:a?b?)+',
      '(a|b){2,}',
      '^([a-z]{1,16}\\.){2,}x',
    ])
      expect(regexRisk(s), s).toMatch(/exponential time/);
  });

  it('finds unbounded repeats in a row', () => {
    for (const s of ['^.*;.*;.*;.*canary', 'a*a*a*b', '^v[0-9]+\\.[0-9]+$', '\\(a+\\)+', '(?=x).*y.+', 'a{2,}b+'])
      expect(regexRisk(s), s).toMatch(/polynomial time/);
  });

  it('finds wide bounded repeats in a row, and narrow ones that together split a value a million ways', () => {
    for (const s of [
      '^[a-z]{0,500}[a-z]{0,500}[a-z]{0,500}!$',
      '[^!]{0,999}[^!]{0,999}[^!]{0,999}[^!]{0,999}!',
      '[^!]{0,999}[^!]*!',
      'a{3,40}b{0,32}',
      '[a-z]{0,31}[a-z]{0,31}[a-z]{0,31}[a-z]{0,31}!',
    ])
      expect(regexRisk(s), s).toMatch(/polynomial time/);
    for (const s of ['^[a-z]{2,40}$', '[a-z]{0,16}[a-z]{0,16}!', '^\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}$'])
      expect(regexRisk(s), s).toBeNull();
  });

  it('passes the rest, reading escapes, classes and group prefixes as what they are', () => {
    for (const s of [
      '^canary$',
      '^(alpha|beta)$',
      '(ab)+',
      '(?:ab)+',
      '(?<v>ab)+',
      '(a+)?',
      '[(a+)+]',
      '\\++',
      '^[a-z]{2,40}$',
      '(a){1}',
      '(a+){0,1}',
      '(?=x)a+',
      '(.)\\1+',
    ])
      expect(regexRisk(s), s).toBeNull();
  });
});

describe('repeatsUnbounded', () => {
  it('sees *, + and {n,} outside escapes and classes', () => {
    for (const s of ['a*', 'x.+', 'a{2,}', '(?:ab)+']) expect(repeatsUnbounded(s), s).toBe(true);
    for (const s of ['^(1|true)$', '\\*', '[*+]', 'a{2,5}', 'a?']) expect(repeatsUnbounded(s), s).toBe(false);
  });
});

describe('compileRuleRegex', () => {
  it('keeps an expression with nothing to retry on the backtracking engine (the fast one on short values)', () => {
    const r = compileRuleRegex('^(1|true)$');
    expect(r.ok && r.re.flags).toBe('');
  });

  const almost = 'a'.repeat(5_000) + '!';

  it('runs every expression it can on the linear-time engine, with the same answers', () => {
    const plain = compileRuleRegex('^.*;.*;.*;.*canary');
    expect(plain.ok && plain.re.flags).toBe('l');
    expect(plain.ok && plain.re.test(';'.repeat(1024))).toBe(false);
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

  it('runs what the linear engine cannot on the backtracking one when its shape is safe; names syntax errors', () => {
    const r = compileRuleRegex('^beta-(?=[0-9])[0-9]+$');
    expect(r.ok && r.re.flags).toBe('');
    expect(r.ok && r.re.test('beta-12')).toBe(true);
    expect(compileRuleRegex('(?=x).*;.*y')).toEqual({ ok: false, message: expect.stringMatching(/polynomial time/) });
    // Bounds above 16 are beyond the linear engine: two wide ones in a row are refused, not backtracked.
    for (const s of ['[^!]{0,999}[^!]{0,999}!', '[^!]{0,999}[^!]*!'])
      expect(compileRuleRegex(s), s).toEqual({ ok: false, message: expect.stringMatching(/polynomial time/) });
    expect(compileRuleRegex('(')).toEqual({
      ok: false,
      message: expect.stringMatching(/^is not a valid regular expression/),
    });
  });
});
