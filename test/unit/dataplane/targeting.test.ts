// Targeting rules on the request path: compiling (names, regexes, what is refused) and matching
// headers, cookies and query parameters; then where a targeted request lands in the pool choice
// (after the override header, before the sticky cookie and the draw, minting no cookie).
import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { choosePoolFor } from '../../../src/dataplane/pool-choice.js';
import type { PoolRuntime, ServiceRoute } from '../../../src/dataplane/table.js';
import { stickyRuntime } from '../../../src/dataplane/table.js';
import {
  compileTargeting,
  isTargeted,
  MAX_TESTED_LENGTH,
  parseCookies,
  type Targeting,
} from '../../../src/dataplane/targeting.js';
import type { Random } from '../../../src/domain/clock.js';
import type { TargetingRule } from '../../../src/domain/targeting.js';
import { RouteGroups } from '../../../src/metrics/route-groups.js';
import type { PoolWindow } from '../../../src/metrics/window.js';
import type { ServiceConfig } from '../../../src/config/schema.js';
import { noPages } from '../../helpers/service-pages.js';

function compiled(rules: TargetingRule[]): Targeting {
  const t = compileTargeting(rules, (why) => {
    throw new Error(`unexpected refusal: ${why}`);
  });
  if (t === null) throw new Error('expected compiled rules');
  return t;
}

const matches = (rules: TargetingRule[], headers: IncomingHttpHeaders, url = '/'): boolean =>
  isTargeted(compiled(rules), headers, url);

describe('compileTargeting', () => {
  it('is null without rules, so the request path skips targeting', () => {
    expect(compileTargeting([], () => undefined)).toBeNull();
  });

  it('lowercases header names and keeps cookie and query names as written', () => {
    const t = compiled([
      { header: { name: 'X-Internal-User' } },
      { cookie: { name: 'Beta' } },
      { query: { name: 'Canary' } },
    ]);
    expect(t.headers.map((r) => r.name)).toEqual(['x-internal-user']);
    expect(t.cookies.map((r) => r.name)).toEqual(['Beta']);
    expect(t.queries.map((r) => r.name)).toEqual(['Canary']);
  });

  it('leaves out a rule whose regex does not compile and says which, keeping the others', () => {
    const refused: string[] = [];
    const t = compileTargeting(
      [{ header: { name: 'x-a', regex: '(' } }, { header: { name: 'x-b', value: '1' } }],
      (why) => refused.push(why),
    );
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/^targeting rule 0 ignored: .*Unterminated group/);
    expect(t?.headers.map((r) => r.name)).toEqual(['x-b']);
    expect(compileTargeting([{ query: { name: 'q', regex: '[' } }], () => undefined)).toBeNull();
  });
});

describe('header rules', () => {
  const exact: TargetingRule[] = [{ header: { name: 'X-Internal-User', value: '1' } }];

  it('match the exact value, whatever case the client gives the name', () => {
    // Node lowercases incoming header names; the rule's name is lowercased when compiled.
    expect(matches(exact, { 'x-internal-user': '1' })).toBe(true);
    expect(matches(exact, { 'x-internal-user': '10' })).toBe(false);
    expect(matches(exact, { 'x-internal-user': ' 1' })).toBe(false);
    expect(matches(exact, { 'x-other': '1' })).toBe(false);
    expect(matches(exact, {})).toBe(false);
  });

  it('without value or regex match when the header is present, even empty', () => {
    const present: TargetingRule[] = [{ header: { name: 'x-beta' } }];
    expect(matches(present, { 'x-beta': '' })).toBe(true);
    expect(matches(present, { 'x-alpha': 'x' })).toBe(false);
  });

  it('with a regex test it unanchored unless the regex is anchored', () => {
    const loose: TargetingRule[] = [{ header: { name: 'user-agent', regex: 'Internal' } }];
    expect(matches(loose, { 'user-agent': 'curl/8 Internal-Tester' })).toBe(true);
    expect(matches(loose, { 'user-agent': 'curl/8' })).toBe(false);
    const anchored: TargetingRule[] = [{ header: { name: 'x-team', regex: '^(ops|qa)$' } }];
    expect(matches(anchored, { 'x-team': 'qa' })).toBe(true);
    expect(matches(anchored, { 'x-team': 'qa2' })).toBe(false);
  });

  it('never run a regex on a value longer than the bound', () => {
    const rules: TargetingRule[] = [{ header: { name: 'x-team', regex: 'a' } }];
    expect(matches(rules, { 'x-team': 'a'.repeat(MAX_TESTED_LENGTH) })).toBe(true);
    expect(matches(rules, { 'x-team': 'a'.repeat(MAX_TESTED_LENGTH + 1) })).toBe(false);
  });

  it('match any element of a list value (the shape IncomingHttpHeaders allows)', () => {
    const rules: TargetingRule[] = [{ header: { name: 'x-list', value: 'b' } }];
    expect(matches(rules, { 'x-list': ['a', 'b'] })).toBe(true);
    expect(matches(rules, { 'x-list': ['a', 'c'] })).toBe(false);
  });
});

describe('cookie rules', () => {
  const beta: TargetingRule[] = [{ cookie: { name: 'beta', value: 'yes' } }];

  it('match a cookie pair by name among the others, not a name that merely ends like it', () => {
    expect(matches(beta, { cookie: 'session=1; beta=yes; theme=dark' })).toBe(true);
    expect(matches(beta, { cookie: 'beta=yes' })).toBe(true);
    expect(matches(beta, { cookie: 'notbeta=yes; beta=no' })).toBe(false);
    expect(matches(beta, { cookie: 'Beta=yes' })).toBe(false);
    expect(matches(beta, {})).toBe(false);
  });

  it('match a quoted value, any of several same-named cookies, and presence', () => {
    expect(matches(beta, { cookie: 'beta="yes"' })).toBe(true);
    expect(matches(beta, { cookie: 'beta=no; beta=yes' })).toBe(true);
    expect(matches([{ cookie: { name: 'beta' } }], { cookie: 'beta=' })).toBe(true);
    expect(matches([{ cookie: { name: 'beta', regex: '^y' } }], { cookie: 'a=1;beta=yup' })).toBe(true);
  });

  it('parseCookies splits on ";", trims, keeps "=" inside values and skips pairs without one', () => {
    const jar = parseCookies(' a=1 ;b=x=y; junk ; a=2');
    expect([...jar.entries()]).toEqual([
      ['a', ['1', '2']],
      ['b', ['x=y']],
    ]);
  });
});

describe('query rules', () => {
  const canary: TargetingRule[] = [{ query: { name: 'canary', regex: '^(1|true)$' } }];

  it('match a decoded parameter value in the request target', () => {
    expect(matches(canary, {}, '/shop?canary=1')).toBe(true);
    expect(matches(canary, {}, '/shop?x=2&canary=true')).toBe(true);
    expect(matches(canary, {}, '/shop?canary=yes')).toBe(false);
    expect(matches(canary, {}, '/shop?canary=%74rue')).toBe(true);
    expect(matches(canary, {}, '/shop')).toBe(false);
    // Only the query string counts, never the path.
    expect(matches(canary, {}, '/canary=1')).toBe(false);
    expect(matches([{ query: { name: 'q', value: 'a b' } }], {}, '/?q=a+b')).toBe(true);
  });

  it('without value or regex match a parameter that is present, even without "="', () => {
    const present: TargetingRule[] = [{ query: { name: 'preview' } }];
    expect(matches(present, {}, '/?preview')).toBe(true);
    expect(matches(present, {}, '/?preview=')).toBe(true);
    expect(matches(present, {}, '/?previewed=1')).toBe(false);
  });
});

it('a request matching any one rule is targeted', () => {
  const rules: TargetingRule[] = [
    { header: { name: 'x-internal-user', value: '1' } },
    { cookie: { name: 'beta', value: 'yes' } },
    { query: { name: 'canary' } },
  ];
  expect(matches(rules, { cookie: 'beta=yes' })).toBe(true);
  expect(matches(rules, {}, '/?canary')).toBe(true);
  expect(matches(rules, { 'x-internal-user': '1' })).toBe(true);
  expect(matches(rules, { 'x-internal-user': '0', cookie: 'beta=no' }, '/?other')).toBe(false);
});

describe('choosePoolFor with targeting', () => {
  const pool = (name: 'stable' | 'canary'): PoolRuntime => ({ name, targets: [], window: {} as PoolWindow });
  const never: Random = () => {
    throw new Error('random() must not be called for a targeted request');
  };
  function route(weightBp: number, rules: TargetingRule[], sticky: boolean): ServiceRoute {
    return {
      name: 'web',
      from: {} as ServiceConfig, // pool choice never reads it
      hosts: ['*'],
      pathPrefix: '/',
      weightBp,
      stable: pool('stable'),
      canary: pool('canary'),
      groups: new RouteGroups({ routes: 'auto', excludePaths: [], base: '/' }),
      byRoute: false,
      sticky: sticky ? stickyRuntime('veer-web', 86_400_000, false, 'lax') : null,
      targeting: compileTargeting(rules, () => undefined),
      rolloutId: null,
      outlier: { consecutiveErrors: 5, ejectFor: 30_000, maxEjectedPercent: 50 },
      retryCanaryOnStable: false,
      maxRequestBody: Infinity,
      timeouts: { header: 30_000, body: 60_000, waitForTarget: 0 },
      pages: noPages(),
      grpc: null,
    };
  }
  const rules: TargetingRule[] = [{ header: { name: 'x-internal-user', value: '1' } }];
  const targeted = { 'x-internal-user': '1' };

  it('sends a targeted request to the canary at weight 0 without a draw and without minting a cookie', () => {
    for (const sticky of [false, true]) {
      const c = choosePoolFor(route(0, rules, sticky), undefined, targeted, '/', never);
      expect(c).toEqual({
        pool: expect.objectContaining({ name: 'canary' }),
        mintedBucket: undefined,
        bucket: undefined,
        forced: true,
      });
    }
  });

  it('ranks after the override header and before a sticky bucket that says stable', () => {
    const r = route(500, rules, true);
    expect(choosePoolFor(r, 'stable', targeted, '/', never).pool.name).toBe('stable');
    const stableBucket = { ...targeted, cookie: 'veer-web=9000' };
    expect(choosePoolFor(r, undefined, stableBucket, '/', never).pool.name).toBe('canary');
    // The same client without the header is split by its bucket again, and keeps it.
    const plain = choosePoolFor(r, undefined, { cookie: 'veer-web=9000' }, '/', never);
    const stable = expect.objectContaining({ name: 'stable' });
    expect(plain).toEqual({ pool: stable, mintedBucket: undefined, bucket: 9000, forced: false });
  });

  it('leaves an unmatched request to the weighted draw, which mints a bucket as before', () => {
    const c = choosePoolFor(route(500, rules, true), undefined, {}, '/', () => 0.01);
    expect(c).toEqual({
      pool: expect.objectContaining({ name: 'canary' }),
      mintedBucket: 100,
      bucket: 100,
      forced: false,
    });
    const s = choosePoolFor(route(500, rules, false), undefined, { 'x-internal-user': '2' }, '/', () => 0.5);
    expect(s.pool.name).toBe('stable');
  });
});
