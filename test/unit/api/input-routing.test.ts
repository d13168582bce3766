// A path that exists under another method is a 405 with Allow (not "no such route"), whatever the body
// of a request the admin API has no route for (it is never read), and a query
// parameter given twice is a 400 naming it (not whichever value happened to come first).
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.js';
import type { AdminDeps, RolloutHistoryControl, SeriesView } from '../../../src/api/ports.js';
import { ok } from '../../../src/domain/errors.js';
import { silentLogger } from '../../../src/domain/log.js';
import { FakeDirectory, fakeDeps, fakeRollout, fakeService } from './fake-directory.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

const series: SeriesView = {
  source: 'local',
  settleMs: 1000,
  newest: () => null,
  columns: () => null,
  recent: () => null,
  onSecond: () => () => undefined,
};

const history: RolloutHistoryControl = {
  history: async () => ok([]),
  undo: async () => ok(fakeRollout()),
  retry: async () => ok(fakeRollout()),
};

function setup(over: Partial<AdminDeps> = {}) {
  const app = buildApp(fakeDeps(new FakeDirectory([fakeService('web')]), { series, history, ...over }), {
    logger: silentLogger,
  });
  apps.push(app);
  return app;
}

describe('a wrong method on an existing path', () => {
  it.each([
    ['GET', '/v1/services/web/shift', 'POST'],
    ['PUT', '/v1/services/web', 'GET, HEAD'],
    ['GET', '/v1/reload', 'POST'],
    ['DELETE', '/v1/services/other/rollout/pause', 'POST'],
    ['POST', '/healthz', 'GET, HEAD'],
    ['PATCH', '/v1/services/web/maintenance', 'GET, HEAD, POST'],
    ['GET', '/v1/services/web/rollout/undo?x=1', 'POST'],
  ])('%s %s is a 405 with Allow: %s', async (method, url, allow) => {
    const res = await setup().inject({ method: method as 'GET', url });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe(allow);
    expect(res.json()).toEqual({
      error: { code: 'method_not_allowed', message: `method not allowed: this path takes ${allow}` },
    });
  });

  it('a path no route has is still a 404, without Allow', async () => {
    for (const url of ['/v1/nothing', '/v1/services/web/shift/more', '/v1/services/web/rollout/jump']) {
      const res = await setup().inject({ method: 'GET', url });
      expect(res.statusCode).toBe(404);
      expect(res.headers.allow).toBeUndefined();
    }
  });

  it('the body of a request to an unknown route or method is not read: 404 and 405 whatever it is', async () => {
    const json = { 'content-type': 'application/json' };
    const cases: Array<[string, string, Record<string, string>, string, number]> = [
      ['POST', '/v1/nothing', json, '{bad', 404],
      ['POST', '/v1/nothing', json, JSON.stringify({ x: 'y'.repeat(200_000) }), 404],
      ['POST', '/v1/nothing', { 'content-type': 'text/plain' }, 'hello', 404],
      ['PUT', '/v1/services/web/shift', json, '{bad', 405],
      ['DELETE', '/v1/services/web', json, '', 405],
      ['PUT', '/v1/services/web/shift', { ...json, 'content-encoding': 'gzip' }, 'x', 405],
    ];
    for (const [method, url, headers, payload, status] of cases) {
      const res = await setup().inject({ method: method as 'POST', url, headers, payload });
      expect(res.statusCode, `${method} ${url} ${payload.slice(0, 20)}`).toBe(status);
    }
  });

  it('while veer stops, a change is refused 503 and a read is answered', async () => {
    let stopping = false;
    const app = setup({ stopping: () => stopping });
    const shift = { method: 'POST' as const, url: '/v1/services/web/shift', payload: { weight: 5 } };
    expect((await app.inject(shift)).statusCode).toBe(200);
    stopping = true;
    const refused = await app.inject(shift);
    expect(refused.statusCode).toBe(503);
    expect(refused.json().error.message).toContain('shutting down');
    expect((await app.inject({ method: 'GET', url: '/v1/services/web' })).statusCode).toBe(200);
  });

  it('a caller without the token learns nothing about which paths exist', async () => {
    const res = await setup({ token: 'secret' }).inject({ method: 'GET', url: '/v1/services/web/shift' });
    expect(res.statusCode).toBe(401);
    expect(res.headers.allow).toBeUndefined();
  });

  it('with the token the 405 is answered', async () => {
    const res = await setup({ token: 'secret' }).inject({
      method: 'GET',
      url: '/v1/services/web/shift',
      headers: { authorization: 'Bearer secret' },
    });
    expect(res.statusCode).toBe(405);
  });
});

describe('a query parameter given more than once', () => {
  it.each([
    ['/v1/services/web/series?seconds=10&seconds=abc', 'seconds'],
    ['/v1/services/web/series?seconds=abc&seconds=10', 'seconds'],
    ['/v1/services/web/events?limit=5&limit=x', 'limit'],
    ['/v1/events?limit=5&limit=5', 'limit'],
    ['/v1/services/web/rollouts?limit=5&limit=x', 'limit'],
    ['/v1/events?service=web&service=api', 'service'],
  ])('%s is a 400 naming %s', async (url, name) => {
    const res = await setup().inject({ method: 'GET', url, headers: { accept: 'application/json' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      error: { message: `${name}: given more than once (expected a single value)` },
    });
  });

  it('given once, each is read as before', async () => {
    const app = setup();
    for (const url of ['/v1/services/web/series?seconds=10', '/v1/services/web/events?limit=5']) {
      expect((await app.inject({ method: 'GET', url })).statusCode).toBe(200);
    }
    expect((await app.inject({ method: 'GET', url: '/v1/services/web/rollouts?limit=5' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v1/services/web/series?seconds=abc' })).statusCode).toBe(400);
  });
});
