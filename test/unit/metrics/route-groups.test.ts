import { describe, expect, it } from 'vitest';
import { EXCLUDED, MAX_AUTO_GROUPS, OTHER, RouteGroups, coversPath } from '../../../src/metrics/route-groups.js';
import { addHash, hashIncrements } from '../../../src/metrics/second-hash.js';
import { emptyTotals, POOL_ONLY, PoolWindow } from '../../../src/metrics/window.js';

const auto = (base = '/', excludePaths = ['/healthz']): RouteGroups =>
  new RouteGroups({ routes: 'auto', excludePaths, base });
const name = (g: RouteGroups, url: string): string => {
  const i = g.classify(url);
  return i === EXCLUDED ? 'excluded' : (g.names[i] as string);
};

describe('route groups', () => {
  it('covers a path on segment boundaries only', () => {
    expect(coversPath('/api', '/api')).toBe(true);
    expect(coversPath('/api', '/api/v1')).toBe(true);
    expect(coversPath('/api', '/apis')).toBe(false);
    expect(coversPath('/', '/anything')).toBe(true);
  });

  it('auto: groups by the first path segment below the service prefix, query cut', () => {
    const g = auto();
    expect(name(g, '/api/users/1?x=2')).toBe('/api');
    expect(name(g, '/api')).toBe('/api');
    expect(name(g, '/poll?since=3')).toBe('/poll');
    expect(name(g, '/')).toBe('/');
    expect(name(g, '/?q=1')).toBe('/');
    const under = auto('/shop');
    expect(name(under, '/shop/cart/3')).toBe('/shop/cart');
    expect(name(under, '/shop')).toBe('/shop');
  });

  it('auto: the first groups seen keep their slot, the rest share OTHER', () => {
    const g = auto();
    for (let i = 0; i < MAX_AUTO_GROUPS; i++) expect(name(g, `/p${i}/x`)).toBe(`/p${i}`);
    expect(name(g, '/late/x')).toBe(OTHER);
    expect(name(g, '/another')).toBe(OTHER);
    expect(name(g, '/p3')).toBe('/p3');
    expect(g.names).toHaveLength(MAX_AUTO_GROUPS + 1);
    // Another replica's group name merges into OTHER too once the slots are taken.
    expect(g.names[g.indexOf('/elsewhere')]).toBe(OTHER);
  });

  it('listed prefixes: the longest covering prefix wins, the rest is OTHER', () => {
    const g = new RouteGroups({ routes: ['/api', '/api/export', '/events'], excludePaths: [], base: '/' });
    expect(name(g, '/api/export/all.csv')).toBe('/api/export');
    expect(name(g, '/api/exports')).toBe('/api');
    expect(name(g, '/events?stream=1')).toBe('/events');
    expect(name(g, '/static/app.js')).toBe(OTHER);
    expect(g.names[g.indexOf('/unknown')]).toBe(OTHER);
  });

  it('excluded paths are never judged, with or without groups', () => {
    const g = auto('/', ['/healthz', '/internal/status']);
    expect(g.classify('/healthz')).toBe(EXCLUDED);
    expect(g.classify('/healthz/db?verbose=1')).toBe(EXCLUDED);
    expect(g.excluded('/internal/status')).toBe(true);
    expect(g.excluded('/healthzz')).toBe(false);
    expect(name(g, '/internal/other')).toBe('/internal');
  });
});

describe('a pool window with route groups', () => {
  const at = Date.UTC(2026, 0, 1, 0, 0, 10);

  it('records a group into the pool and its route, an excluded request into the lifetime counters only', () => {
    const w = new PoolWindow({ seconds: 60 });
    const g = auto();
    w.routes.use(g);
    const group = (url: string): number => {
      const i = g.classify(url);
      return i === EXCLUDED ? EXCLUDED : g.code(i);
    };
    w.record(at, 200, 5, group('/api/a'));
    w.record(at, 503, 7, group('/api/b'));
    w.record(at, 404, 3, group('/poll'));
    w.record(at, 500, 1, group('/healthz'));
    w.recordFailure(at, 'connect', 2, group('/poll'));
    w.record(at, 200, 4, POOL_ONLY);
    const t = w.totals(at, at);
    expect([t.requests, t.errors, t.clientErrors, t.connectErrors]).toEqual([5, 2, 1, 1]);
    expect(Object.keys(t.routes ?? {}).sort()).toEqual(['/api', '/poll']);
    expect([t.routes?.['/api']?.requests, t.routes?.['/api']?.errors]).toEqual([2, 1]);
    expect([t.routes?.['/poll']?.requests, t.routes?.['/poll']?.clientErrors]).toEqual([2, 1]);
    const life = w.lifetime();
    expect([life.requests, life.errors]).toEqual([6, 3]);
    const [sec] = w.seconds(at / 1000 - 1, at / 1000);
    expect(sec?.routes?.['/poll']?.requests).toBe(2);
  });

  it('ships route counts through the Redis hash and merges them back by name', () => {
    const groups = auto();
    const w = new PoolWindow({ seconds: 60 });
    w.routes.use(groups);
    w.record(at, 503, 5, groups.code(groups.classify('/api/x')));
    w.record(at, 200, 5, groups.code(groups.classify('/api/y')));
    w.record(at, 404, 9, groups.code(groups.classify('/other/x')));
    const [rec] = w.seconds(at / 1000, at / 1000);
    const hash = Object.fromEntries(hashIncrements(rec ?? emptyTotals()).map(([f, n]) => [f, String(n)]));
    expect([hash['/api r'], hash['/api e'], hash['/other q']]).toEqual(['2', '1', '1']);
    const back = emptyTotals();
    addHash(back, hash);
    const api = back.routes?.['/api'];
    expect([back.requests, back.errors, back.clientErrors, api?.errors, back.routes?.['/other']?.clientErrors]).toEqual(
      [3, 1, 1, 1, 1],
    );
    // Another replica saw /zzz first (its group 0): records merge by group name, not by index.
    const theirs = auto();
    const other = new PoolWindow({ seconds: 60 });
    other.routes.use(theirs);
    other.record(at, 200, 5, theirs.code(theirs.classify('/zzz')));
    expect(other.mergeSecond({ ...back, sec: at / 1000 })).toBe('merged');
    const m = other.totals(at, at);
    expect([
      m.requests,
      m.routes?.['/zzz']?.requests,
      m.routes?.['/api']?.requests,
      m.routes?.['/other']?.requests,
    ]).toEqual([4, 1, 2, 1]);
  });

  it('a request classified before a reload changed the groups counts in the pool, in no route of the new ones', () => {
    const before = new RouteGroups({ routes: ['/a', '/b', '/c'], excludePaths: [], base: '/' });
    const after = new RouteGroups({ routes: ['/x', '/y', '/z'], excludePaths: [], base: '/' });
    const w = new PoolWindow({ seconds: 60 });
    w.routes.use(before);
    const started = before.code(before.classify('/c/1'));
    w.routes.use(after);
    w.record(at, 503, 5, started);
    w.recordFailure(at, 'connect', 5, started);
    w.record(at, 200, 5, after.code(after.classify('/y/1')));
    const t = w.totals(at, at);
    expect([t.requests, t.errors, t.connectErrors]).toEqual([3, 2, 1]);
    // Its index (2) named "/z" in the new groups, and "undefined" where the new groups had no third name yet.
    expect(t.routes).toEqual({ '/y': expect.objectContaining({ requests: 1, errors: 0 }) });
  });
});
