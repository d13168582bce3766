import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatPath, formatProblems, validateWith, zodIssuesToProblems } from '../../../src/config/problems.js';
import { ConfigError } from '../../../src/domain/errors.js';

describe('formatPath', () => {
  it('reads like the config file', () => {
    expect(formatPath(['services', 0, 'rollout', 'steps', 2])).toBe('services[0].rollout.steps[2]');
    expect(formatPath([])).toBe('');
    expect(formatPath([3, 'a'])).toBe('[3].a');
  });

  it('quotes keys that are not identifiers', () => {
    expect(formatPath(['selector', 'com.example/app', 'x'])).toBe('selector["com.example/app"].x');
  });
});

describe('zodIssuesToProblems', () => {
  const schema = z.object({ name: z.string(), inner: z.object({ n: z.number().max(10) }).strict() }).strict();

  it('splits unknown keys into one problem each, naming the expected keys', () => {
    const r = validateWith(schema, { name: 'a', inner: { n: 1, x: 1, y: 2 }, extra: true });
    expect(!r.ok && r.error).toEqual([
      { path: 'inner.x', message: 'unknown key (expected one of: n)' },
      { path: 'inner.y', message: 'unknown key (expected one of: n)' },
      { path: 'extra', message: 'unknown key (expected one of: name, inner)' },
    ]);
  });

  it('still splits issues produced without the error map', () => {
    const r = schema.safeParse({ name: 'a', inner: { n: 1 }, p: 1, q: 2 });
    expect(r.success).toBe(false);
    expect(zodIssuesToProblems(r.error?.issues ?? [])).toEqual([
      { path: 'p', message: 'unknown key' },
      { path: 'q', message: 'unknown key' },
    ]);
  });

  it('says what was expected instead of zod defaults', () => {
    const r = validateWith(schema, { name: 5, inner: { n: 11 } });
    expect(!r.ok && r.error).toEqual([
      { path: 'name', message: 'expected a string, got 5' },
      { path: 'inner.n', message: 'must be ≤ 10' },
    ]);
  });

  it('keeps messages the schema wrote itself', () => {
    const r = validateWith(z.object({ s: z.string().min(3, 'too short, friend') }), { s: 'a' });
    expect(!r.ok && r.error).toEqual([{ path: 's', message: 'too short, friend' }]);
  });
});

describe('formatProblems', () => {
  it('prints one problem per line under a header, without a stack', () => {
    const e = new ConfigError('ignored when problems exist', [
      { path: 'services[0].rollout.steps[2]', message: 'must be ≤ 100' },
      { path: '', message: 'YAML syntax error at line 1, column 2: multi\nline' },
    ]);
    expect(formatProblems(e, 'proxy.config.yaml')).toBe(
      [
        'proxy.config.yaml: invalid configuration (2 problems):',
        '  services[0].rollout.steps[2]: must be ≤ 100',
        '  YAML syntax error at line 1, column 2: multi line',
      ].join('\n'),
    );
    expect(formatProblems(e)).not.toMatch(/\n\s+at .*:\d+:\d+/);
    expect(formatProblems(e).split('\n')[0]).toBe('invalid configuration (2 problems):');
  });

  it('prints the message alone when there are no problems, without repeating the source', () => {
    expect(formatProblems(new ConfigError('cannot read config file a.yaml: no such file'), 'a.yaml')).toBe(
      'cannot read config file a.yaml: no such file',
    );
    expect(formatProblems(new ConfigError('bad'), 'a.yaml')).toBe('a.yaml: bad');
  });
});
