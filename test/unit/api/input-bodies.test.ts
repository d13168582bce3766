// Request bodies the admin API used to mishandle: gate headers that could never be sent, rollout
// reasons with control characters, "expected one of: " with nothing after it, a maintenance switch
// that said "required" for a wrong type or accepted any Retry-After, compressed bodies, and JSON
// errors that quoted the body back.
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.js';
import type { AdminDeps, MaintenanceControl, RolloutHistoryControl } from '../../../src/api/ports.js';
import { ok } from '../../../src/domain/errors.js';
import { silentLogger } from '../../../src/domain/log.js';
import type { Maintenance } from '../../../src/domain/maintenance.js';
import { FakeDirectory, FakeRollouts, fakeDeps, fakeRollout, fakeService } from './fake-directory.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

class FakeMaintenance implements MaintenanceControl {
  readonly sets: Array<Parameters<MaintenanceControl['set']>[1]> = [];
  get(): ReturnType<MaintenanceControl['get']> {
    return ok({ on: false, mode: 'hold', retryAfterMs: null, since: '2024-01-01T00:00:00.000Z' });
  }
  async set(_service: string, req: Parameters<MaintenanceControl['set']>[1]) {
    this.sets.push(req);
    return ok<Maintenance>({ ...req, since: '2024-01-01T00:00:00.000Z' });
  }
}

const history: RolloutHistoryControl = {
  history: async () => ok([]),
  undo: async () => ok(fakeRollout()),
  retry: async () => ok(fakeRollout()),
};

function setup(over: Partial<AdminDeps> = {}) {
  const directory = new FakeDirectory([fakeService('web')]);
  const rollouts = new FakeRollouts((n) => directory.get(n) !== undefined);
  const maintenance = new FakeMaintenance();
  const app = buildApp(fakeDeps(directory, { rollouts, maintenance, history, ...over }), { logger: silentLogger });
  apps.push(app);
  return { app, rollouts, maintenance, directory };
}

const JSON_TYPE = { 'content-type': 'application/json' };

const post = (app: FastifyInstance, url: string, payload: unknown, headers: Record<string, string> = JSON_TYPE) =>
  app.inject({
    method: 'POST',
    url,
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    headers,
  });

interface ErrorBody {
  error: { code: string; message: string; problems?: Array<{ path: string; message: string }> };
}

describe('gate headers in a rollout request', () => {
  const startWith = (headers: Record<string, string>) => ({
    canary: { targets: ['127.0.0.1:9101'] },
    rollout: { gates: { beforeTraffic: { url: 'http://127.0.0.1:7000/smoke', headers } } },
  });

  it.each([
    [{ 'bad header': 'x' }, 'rollout.gates.beforeTraffic.headers["bad header"]', /^is not a valid header name/],
    [{ '': 'x' }, 'rollout.gates.beforeTraffic.headers[""]', /^is not a valid header name/],
    [{ 'x-a': 'a\r\nInjected: 1' }, 'rollout.gates.beforeTraffic.headers["x-a"]', /control characters/],
    [{ 'x-b': 'é\u0000' }, 'rollout.gates.beforeTraffic.headers["x-b"]', /control characters/],
    [{ 'content-length': '99' }, 'rollout.gates.beforeTraffic.headers["content-length"]', /^cannot be set/],
    [{ host: 'evil' }, 'rollout.gates.beforeTraffic.headers.host', /^cannot be set on a gate: it is set by veer/],
  ])('%j is a 400 naming the header', async (headers, path, message) => {
    const { app, rollouts } = setup();
    const res = await post(app, '/v1/services/web/rollouts', startWith(headers));
    expect(res.statusCode).toBe(400);
    const e = (res.json() as ErrorBody).error;
    expect(e.problems).toEqual([{ path, message: expect.stringMatching(message) }]);
    expect(res.body).not.toMatch(/Injected|evil|Headers\.append/);
    expect(rollouts.starts).toHaveLength(0);
  });

  it('good headers start the rollout', async () => {
    const { app, rollouts } = setup();
    const res = await post(app, '/v1/services/web/rollouts', startWith({ authorization: 'Bearer t' }));
    expect(res.statusCode).toBe(201);
    expect(rollouts.starts[0]?.req.rollout).toMatchObject({
      gates: { beforeTraffic: { headers: { authorization: 'Bearer t' } } },
    });
  });
});

describe('rollout reasons', () => {
  it.each([['a\nb'], ['a\u0000b'], ['a\u001b[31mred'], ['a\u007fb'], ['a\u0085b']])(
    'a reason with control characters (%j) is refused',
    async (reason) => {
      const { app, rollouts } = setup();
      const res = await post(app, '/v1/services/web/rollout/pause', { reason });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: { message: 'reason: must not contain control characters' } });
      expect(rollouts.acts).toHaveLength(0);
    },
  );

  it.each(['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'])(
    'a bidirectional override (U+%s) is refused',
    async (c) => {
      const { app } = setup();
      const res = await post(app, '/v1/services/web/rollout/abort', { reason: `ok${c}evil` });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: { message: 'reason: must not contain bidirectional text controls' } });
    },
  );

  it('a plain reason, accents and emoji included, is kept; 500 characters stay the limit', async () => {
    const { app, rollouts } = setup();
    expect((await post(app, '/v1/services/web/rollout/pause', { reason: 'déploiement 🚀 bloqué' })).statusCode).toBe(
      200,
    );
    expect(rollouts.acts[0]?.opts.reason).toBe('déploiement 🚀 bloqué');
    const long = await post(app, '/v1/services/web/rollout/abort', { reason: 'x'.repeat(501) });
    expect(long.statusCode).toBe(400);
  });
});

describe('actions that take no fields', () => {
  it.each([
    ['resume', { reason: 'x' }, 'reason'],
    ['undo', { x: 1 }, 'x'],
    ['retry', { full: true }, 'full'],
  ])('%s %j says the request takes no fields', async (action, body, key) => {
    const res = await post(setup().app, `/v1/services/web/rollout/${action}`, body);
    expect(res.statusCode).toBe(400);
    expect((res.json() as ErrorBody).error.problems).toEqual([
      { path: key, message: 'unknown key (this request takes no fields)' },
    ]);
  });
});

describe('POST /v1/services/:name/maintenance', () => {
  const url = '/v1/services/web/maintenance';

  it.each([
    ['true', 'a string'],
    [1, 'a number'],
    [null, 'null'],
  ])('on: %j says what was expected and the type given, not "required"', async (on, kind) => {
    const res = await post(setup().app, url, { on });
    expect(res.statusCode).toBe(400);
    expect((res.json() as ErrorBody).error.problems).toEqual([
      { path: 'on', message: `expected true (maintenance on) or false (off), got ${kind}` },
    ]);
  });

  it('a missing on is still "required"', async () => {
    const res = await post(setup().app, url, {});
    expect((res.json() as ErrorBody).error.message).toBe('on: required: true (maintenance on) or false (off)');
  });

  it.each([[1e308], ['99999999h'], [0.5], ['25h']])('retryAfter %j is refused with the range', async (retryAfter) => {
    const { app, maintenance } = setup();
    const res = await post(app, url, { on: true, retryAfter });
    expect(res.statusCode).toBe(400);
    expect((res.json() as ErrorBody).error.message).toBe(
      'retryAfter: must be from 1s to 24h (Retry-After is whole seconds)',
    );
    expect(maintenance.sets).toEqual([]);
  });

  it('retryAfter is whole seconds: a fraction is a 400 naming it, nothing stored', async () => {
    const { app, maintenance } = setup();
    const fraction = await post(app, url, { on: true, mode: 'page', retryAfter: '1500ms' });
    expect(fraction.statusCode).toBe(400);
    expect(fraction.json().error.problems).toEqual([
      { path: 'retryAfter', message: 'must be whole seconds (Retry-After is whole seconds), got 1500ms' },
    ]);
    expect((await post(app, url, { on: true, retryAfter: '24h' })).statusCode).toBe(200);
    expect(maintenance.sets.map((s) => s.retryAfterMs)).toEqual([86_400_000]);
  });
});

describe('encoded and malformed bodies', () => {
  const shift = '/v1/services/web/shift';

  it('a gzip body is a 415, not an invalid_json quoting the binary', async () => {
    const res = await post(setup().app, shift, gzipSync('{"weight":5}'), { ...JSON_TYPE, 'content-encoding': 'gzip' });
    expect(res.statusCode).toBe(415);
    expect(res.headers['accept-encoding']).toBe('identity');
    expect(res.json()).toEqual({
      error: {
        code: 'unsupported_media_type',
        message: 'Content-Encoding is not supported on request bodies: send the JSON body uncompressed',
      },
    });
  });

  it.each(['br', 'identity, gzip', 'GZIP'])('Content-Encoding %s on plain JSON is not applied', async (coding) => {
    const { app } = setup();
    const res = await post(app, shift, { weight: 5 }, { ...JSON_TYPE, 'content-encoding': coding });
    expect(res.statusCode).toBe(415);
  });

  it('identity, or an encoding on a request without a body, changes nothing', async () => {
    const { app } = setup();
    const plain = await post(app, shift, { weight: 5 }, { ...JSON_TYPE, 'content-encoding': 'identity' });
    expect(plain.statusCode).toBe(200);
    const empty = await post(app, '/v1/services/web/rollout/resume', '', { ...JSON_TYPE, 'content-encoding': 'gzip' });
    expect(empty.statusCode).toBe(200);
  });

  it('an unknown path with a compressed body is still a 404', async () => {
    const res = await post(setup().app, '/v1/nothing', gzipSync('{}'), { ...JSON_TYPE, 'content-encoding': 'gzip' });
    expect(res.statusCode).toBe(404);
  });

  it.each([
    ['{"weight":NaN}', 'request body is not valid JSON'],
    ['{"weight": 5', 'request body is not valid JSON (at position 12)'],
    ['{"secret-key":"s3cr3t" x}', 'request body is not valid JSON (at position 23)'],
  ])('invalid JSON %j never quotes the body', async (payload, message) => {
    const res = await post(setup().app, shift, payload);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: { code: 'invalid_json', message } });
    expect(res.body).not.toMatch(/NaN|weight|s3cr3t/);
  });
  it.each([
    ['{"weight": 10, "weight": 90}', 'the key "weight"'],
    ['{"reason": "a", "steps": [{"w": 1, "w": 2}]}', 'the key "w"'],
    ['{"weight": 5, "\\u0077eight": 6}', 'the key "weight"'],
    ['{"s3cr3t value": 1, "s3cr3t value": 2}', 'a key'],
  ])('a key given twice in one object (%s) is a 400, not "the last wins"', async (payload, shown) => {
    const { app, directory } = setup();
    const res = await post(app, shift, payload);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: { code: 'invalid_json', message: `request body gives ${shown} twice in one object` },
    });
    expect(res.body).not.toMatch(/s3cr3t/);
    expect(directory.shifts).toEqual([]);
  });

  it.each(['utf-16', 'ISO-8859-1', '"utf-16le"'])('charset=%s is a 415 naming UTF-8', async (charset) => {
    const headers = { 'content-type': `application/json; charset=${charset}` };
    const res = await post(setup().app, shift, { weight: 5 }, headers);
    expect(res.statusCode).toBe(415);
    expect(res.json().error.message).toMatch(/^charset "[^"]+" is not supported: send the JSON body in UTF-8$/);
  });

  it.each(['utf-8', 'UTF-8', 'utf8', '"utf-8"'])('charset=%s is read', async (charset) => {
    const headers = { 'content-type': `application/json;charset=${charset}` };
    const { app, directory } = setup();
    const res = await post(app, shift, { weight: 5 }, headers);
    expect(res.statusCode).toBe(200);
    expect(directory.shifts).toEqual([{ name: 'web', bp: 500 }]);
  });
});
