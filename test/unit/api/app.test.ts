import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.js';
import type { AdminDeps } from '../../../src/api/ports.js';
import type { Logger, LogLevel } from '../../../src/domain/log.js';
import { FakeDirectory, fakeDeps, fakeService, poolMetrics } from './fake-directory.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

function setup(over: Partial<AdminDeps> = {}) {
  const directory = new FakeDirectory([
    fakeService('web', {
      weight: 10,
      metrics: { stable: poolMetrics({ requests: 90 }), canary: poolMetrics({ requests: 10 }) },
    }),
    fakeService('api'),
  ]);
  const logged: Array<{ level: LogLevel; msg: string; fields: Record<string, unknown> | undefined }> = [];
  const logger: Logger = { log: (level, msg, fields) => logged.push({ level, msg, fields }) };
  const app = buildApp(fakeDeps(directory, over), { logger });
  apps.push(app);
  return { app, directory, logged };
}

const shift = (app: FastifyInstance, payload: unknown, name = 'web') =>
  app.inject({
    method: 'POST',
    url: `/v1/services/${name}/shift`,
    payload: JSON.stringify(payload),
    headers: { 'content-type': 'application/json' },
  });

describe('probes and metrics', () => {
  it('GET /healthz answers ok', async () => {
    const res = await setup().app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok' });
  });

  it('GET /readyz is 200 with its checks when ready', async () => {
    const res = await setup().app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ready: true, status: 'ok', checks: { dataplane: 'ok', store: 'ok' } });
  });

  it('GET /readyz stays 200 but says degraded when a check is degraded (the shared store is down)', async () => {
    const { app } = setup({ readiness: () => ({ ready: true, checks: { dataplane: 'ok', store: 'degraded' } }) });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ready: true, status: 'degraded', checks: { dataplane: 'ok', store: 'degraded' } });
  });

  it('GET /readyz is 503 with the failing check when not ready', async () => {
    const { app } = setup({ readiness: () => ({ ready: false, checks: { dataplane: 'ok', store: 'failing' } }) });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ ready: false, status: 'failing', checks: { dataplane: 'ok', store: 'failing' } });
  });

  it('GET /metrics is Prometheus text', async () => {
    const res = await setup().app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toContain('veer_requests_total{service="web",pool="stable"} 7');
  });

  it('GET /v1/cluster returns the cluster view', async () => {
    const res = await setup().app.inject({ method: 'GET', url: '/v1/cluster' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      self: 'r1',
      leader: 'r1',
      replicas: [{ id: 'r1', seenAt: '2024-01-01T00:00:00.000Z' }],
    });
  });
});

describe('services', () => {
  it('lists every service', async () => {
    const res = await setup().app.inject({ method: 'GET', url: '/v1/services' });
    expect(res.statusCode).toBe(200);
    const body = res.json() as Array<{ name: string; weight: number }>;
    expect(body.map((s) => s.name)).toEqual(['web', 'api']);
    expect(body[0]).toMatchObject({ weight: 10, rollout: null, metrics: { canary: { requests: 10 } } });
  });

  it('gets one service by name', async () => {
    const res = await setup().app.inject({ method: 'GET', url: '/v1/services/web' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      name: 'web',
      weight: 10,
      pools: { stable: { targets: [{ id: '127.0.0.1:9001' }] } },
    });
  });

  it('answers 404 JSON for an unknown service', async () => {
    const res = await setup().app.inject({ method: 'GET', url: '/v1/services/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'not_found', message: "service 'nope' not found" } });
  });
});

describe('POST /v1/services/:name/shift', () => {
  it('shifts with the weight in basis points and returns the new status', async () => {
    const { app, directory } = setup();
    const res = await shift(app, { weight: 25 });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: 'web', weight: 25 });
    expect(directory.shifts).toEqual([{ name: 'web', bp: 2500 }]);
  });

  it('accepts two decimals, 0 and 100', async () => {
    const { app, directory } = setup();
    for (const weight of [12.34, 0, 100]) expect((await shift(app, { weight })).statusCode).toBe(200);
    expect(directory.shifts.map((s) => s.bp)).toEqual([1234, 0, 10_000]);
  });

  it.each([
    [{ weight: 150 }, 'weight', 'must be between 0 and 100, got 150'],
    [{ weight: -1 }, 'weight', 'must be between 0 and 100, got -1'],
    [{ weight: 12.345 }, 'weight', 'at most two decimals are allowed, got 12.345'],
    [{ weight: 'abc' }, 'weight', 'expected a number from 0 to 100'],
    [{}, 'weight', 'required'],
    [{ weight: 5, extra: true }, 'extra', 'unknown key'],
    [[5], '', 'request body must be a JSON object'],
    [null, '', 'request body must be a JSON object'],
  ])('refuses %j with a problem on "%s"', async (payload, path, message) => {
    const { app, directory } = setup();
    const res = await shift(app, payload);
    expect(res.statusCode).toBe(400);
    const body = res.json() as {
      error: { code: string; message: string; problems: Array<{ path: string; message: string }> };
    };
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.problems).toHaveLength(1);
    expect(body.error.problems[0]?.path).toBe(path);
    expect(body.error.problems[0]?.message).toContain(message);
    expect(directory.shifts).toEqual([]);
  });

  it('reports every problem at once', async () => {
    const res = await shift(setup().app, { weight: 150, x: 1 });
    const body = res.json() as { error: { problems: Array<{ path: string }> } };
    expect(body.error.problems.map((p) => p.path).sort()).toEqual(['weight', 'x']);
  });

  it('answers 404 for an unknown service', async () => {
    const res = await shift(setup().app, { weight: 5 }, 'nope');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it("passes the directory's conflict through as 409", async () => {
    const { app, directory } = setup();
    directory.locked.add('web');
    const res = await shift(app, { weight: 5 });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({
      error: { code: 'rollout_in_progress', message: "service 'web' has a rollout in progress" },
    });
  });
});

describe('malformed requests', () => {
  const post = (app: FastifyInstance, payload: string, headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/v1/services/web/shift', payload, headers });

  it('malformed JSON is a clear 400 without internals', async () => {
    const res = await post(setup().app, '{"weight": 5', { 'content-type': 'application/json' });
    expect(res.statusCode).toBe(400);
    const body = res.json() as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_json');
    expect(body.error.message).toBe('request body is not valid JSON (at position 12)');
    expect(res.body).not.toMatch(/FST_|stack|statusCode/);
  });

  it('an empty JSON body is a 400', async () => {
    const res = await post(setup().app, '', { 'content-type': 'application/json' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      error: { code: 'invalid_json', message: 'request body is empty: send a JSON object' },
    });
  });

  it('a non-JSON content type is a 415', async () => {
    const res = await post(setup().app, 'weight=5', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toEqual({
      error: {
        code: 'unsupported_media_type',
        message: 'unsupported Content-Type "application/x-www-form-urlencoded": send application/json',
      },
    });
  });

  it('text/plain is refused too (fastify would otherwise accept it)', async () => {
    const res = await post(setup().app, '{"weight":5}', { 'content-type': 'text/plain' });
    expect(res.statusCode).toBe(415);
  });

  it('a body without content type is a 415', async () => {
    const res = await post(setup().app, '{"weight":5}', {});
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({ error: { message: 'missing Content-Type: send application/json' } });
  });

  it('a body over 64 KiB is a 413', async () => {
    const { app, directory } = setup();
    const res = await post(app, JSON.stringify({ weight: 5, pad: 'x'.repeat(64 * 1024) }), {
      'content-type': 'application/json',
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: { code: 'payload_too_large' } });
    expect(directory.shifts).toEqual([]);
  });

  it('an unknown route is a 404 JSON that does not repeat the path', async () => {
    const res = await setup().app.inject({ method: 'GET', url: '/v2/nothing-here?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({
      error: { code: 'not_found', message: expect.stringMatching(/^no such route/) },
    });
    expect(res.body).not.toContain('nothing-here');
  });

  it('an unexpected exception is a bare 500, logged with its stack', async () => {
    const { app, logged } = setup({
      cluster: () => {
        throw new Error('secret internal detail');
      },
    });
    const res = await app.inject({ method: 'GET', url: '/v1/cluster' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: { code: 'internal', message: 'internal error' } });
    expect(res.body).not.toContain('secret');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      level: 'error',
      fields: { url: '/v1/cluster', error: 'secret internal detail' },
    });
    expect(String(logged[0]?.fields?.stack)).toContain('secret internal detail');
  });
});
