import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.js';
import { ConflictError, err } from '../../../src/domain/errors.js';
import { silentLogger } from '../../../src/domain/log.js';
import { FakeDirectory, FakeRollouts, fakeDeps, fakeRollout, fakeService } from './fake-directory.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

function setup() {
  const directory = new FakeDirectory([fakeService('web'), fakeService('api')]);
  const rollouts = new FakeRollouts((n) => directory.get(n) !== undefined);
  const app = buildApp(fakeDeps(directory, { rollouts }), { logger: silentLogger });
  apps.push(app);
  return { app, rollouts };
}

const start = (app: FastifyInstance, payload: unknown, name = 'web') =>
  app.inject({
    method: 'POST',
    url: `/v1/services/${name}/rollouts`,
    payload: JSON.stringify(payload),
    headers: { 'content-type': 'application/json' },
  });

interface ErrorBody {
  error: { code: string; message: string; problems?: Array<{ path: string; message: string }> };
}

async function rejected(payload: unknown): Promise<ErrorBody['error']> {
  const { app, rollouts } = setup();
  const res = await start(app, payload);
  expect(res.statusCode).toBe(400);
  expect(rollouts.starts).toHaveLength(0);
  return (res.json() as ErrorBody).error;
}

describe('POST /v1/services/:name/rollouts validation', () => {
  it('rejects an empty target list', async () => {
    const e = await rejected({ canary: { targets: [] } });
    expect(e.problems).toEqual([{ path: 'canary.targets', message: 'must list at least one "host:port" target' }]);
  });

  it('names the index of a bad target', async () => {
    const e = await rejected({ canary: { targets: ['127.0.0.1:9001', 'nope'] } });
    expect(e.message).toBe('canary.targets[1]: expected "host:port", got "nope"');
  });

  it('rejects duplicate targets', async () => {
    const e = await rejected({ canary: { targets: ['127.0.0.1:9001', '127.0.0.1:9001'] } });
    expect(e.problems).toEqual([
      { path: 'canary.targets[1]', message: 'duplicate target "127.0.0.1:9001" (also canary.targets[0])' },
    ]);
  });

  it('rejects both targets and image', async () => {
    const e = await rejected({ canary: { targets: ['127.0.0.1:9001'], image: 'app:2' } });
    expect(e.problems).toEqual([{ path: 'canary', message: 'give either "targets" or "image", not both' }]);
  });

  it('rejects a missing canary and a canary with neither form', async () => {
    expect((await rejected({})).problems?.[0]?.path).toBe('canary');
    const e = await rejected({ canary: {} });
    expect(e.problems?.[0]).toMatchObject({ path: 'canary', message: expect.stringContaining('"targets"') });
  });

  it('rejects an empty image, a bad env entry and a count of 0 or above 50', async () => {
    expect((await rejected({ canary: { image: '  ' } })).problems).toEqual([
      { path: 'canary.image', message: 'must not be empty' },
    ]);
    expect((await rejected({ canary: { image: 'app:2', env: ['OK=1', 'broken'] } })).problems).toEqual([
      { path: 'canary.env[1]', message: 'expected "KEY=value"' },
    ]);
    expect((await rejected({ canary: { image: 'app:2', count: 0 } })).problems).toEqual([
      { path: 'canary.count', message: 'must be ≥ 1' },
    ]);
    expect((await rejected({ canary: { image: 'app:2', count: 51 } })).problems).toEqual([
      { path: 'canary.count', message: 'must be ≤ 50' },
    ]);
    expect((await rejected({ canary: { image: 'app:2', count: 1.5 } })).problems?.[0]?.path).toBe('canary.count');
  });

  it('rejects steps that are not ascending', async () => {
    const e = await rejected({ canary: { targets: ['127.0.0.1:9001'] }, rollout: { steps: [5, 25, 10] } });
    expect(e.problems).toEqual([{ path: 'rollout.steps[2]', message: 'must be greater than the previous step (25)' }]);
  });

  it('rejects a step of 0 and a step above 100', async () => {
    expect((await rejected({ canary: { targets: ['127.0.0.1:9001'] }, rollout: { steps: [0, 50] } })).problems).toEqual(
      [{ path: 'rollout.steps[0]', message: 'must be > 0' }],
    );
    expect(
      (await rejected({ canary: { targets: ['127.0.0.1:9001'] }, rollout: { steps: [5, 50, 101] } })).message,
    ).toBe('rollout.steps[2]: must be ≤ 100');
  });

  it('rejects negative durations', async () => {
    const e = await rejected({ canary: { targets: ['127.0.0.1:9001'] }, rollout: { stepInterval: '-1s' } });
    expect(e.problems).toEqual([
      { path: 'rollout.stepInterval', message: 'expected a duration like "500ms", "30s", "2m", got "-1s"' },
    ]);
    const n = await rejected({ canary: { targets: ['127.0.0.1:9001'] }, rollout: { analysisInterval: -5 } });
    expect(n.problems?.[0]?.path).toBe('rollout.analysisInterval');
  });

  it('rejects steps for a blue-green rollout, and an error rate limit of 0 or 1', async () => {
    const canary = { targets: ['127.0.0.1:9001'] };
    const bg = await rejected({ canary, rollout: { strategy: 'blue-green', steps: [10, 100] } });
    expect(bg.problems).toEqual([{ path: 'rollout.steps', message: expect.stringContaining('blue-green') }]);
    for (const [v, message] of [
      [0, 'must be > 0'],
      [1, 'must be < 1'],
    ] as const)
      expect((await rejected({ canary, rollout: { maxErrorRate: v } })).problems).toEqual([
        { path: 'rollout.maxErrorRate', message },
      ]);
  });

  it('rejects an unknown override key and an unknown top-level key', async () => {
    const e = await rejected({ canary: { targets: ['127.0.0.1:9001'] }, rollout: { stepz: [5] } });
    expect(e.problems?.[0]?.path).toBe('rollout.stepz');
    expect(e.problems?.[0]?.message).toMatch(/^unknown key \(expected one of: strategy, steps/);
    expect((await rejected({ canary: { targets: ['127.0.0.1:9001'] }, extra: 1 })).problems?.[0]?.path).toBe('extra');
  });

  it('reports every problem at once', async () => {
    const e = await rejected({ canary: { targets: ['x'] }, rollout: { steps: [200], minRequests: 0 } });
    expect(e.problems?.map((p) => p.path)).toEqual(['canary.targets[0]', 'rollout.steps[0]', 'rollout.minRequests']);
  });
});

describe('POST /v1/services/:name/rollouts', () => {
  it('passes normalised targets and parsed overrides to the port and answers 201', async () => {
    const { app, rollouts } = setup();
    const res = await start(app, {
      canary: { targets: [' 127.0.0.1:9101', 'localhost:9102'] },
      rollout: { steps: [10, 100], stepInterval: '30s', strategy: 'canary' },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      id: 'r-1',
      phase: 'progressing',
      canary: { targets: ['127.0.0.1:9101', 'localhost:9102'] },
    });
    expect(rollouts.starts).toEqual([
      {
        service: 'web',
        req: {
          canary: { targets: ['127.0.0.1:9101', 'localhost:9102'] },
          rollout: { steps: [10, 100], stepInterval: 30_000, strategy: 'canary' },
        },
      },
    ]);
  });

  it('passes an image canary with defaults for env and count', async () => {
    const { app, rollouts } = setup();
    expect((await start(app, { canary: { image: 'app:2' } })).statusCode).toBe(201);
    expect((await start(app, { canary: { image: 'app:3', env: ['A=1'], count: 3 } })).statusCode).toBe(201);
    expect(rollouts.starts.map((s) => s.req)).toEqual([
      { canary: { image: 'app:2', env: [], count: null }, rollout: {} },
      { canary: { image: 'app:3', env: ['A=1'], count: 3 }, rollout: {} },
    ]);
  });

  it('answers 404 for an unknown service', async () => {
    const { app } = setup();
    const res = await start(app, { canary: { targets: ['127.0.0.1:9101'] } }, 'nope');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'not_found', message: "service 'nope' not found" } });
  });

  it('passes a 409 from the port through', async () => {
    const { app, rollouts } = setup();
    rollouts.startResult = () =>
      err(
        new ConflictError(
          'service web already has rollout r-1 in phase progressing; abort it or wait',
          'rollout_in_progress',
        ),
      );
    const res = await start(app, { canary: { targets: ['127.0.0.1:9101'] } });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({
      error: {
        code: 'rollout_in_progress',
        message: 'service web already has rollout r-1 in phase progressing; abort it or wait',
      },
    });
  });

  it('refuses a missing or non-JSON body', async () => {
    const { app } = setup();
    expect((await app.inject({ method: 'POST', url: '/v1/services/web/rollouts' })).statusCode).toBe(400);
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/services/web/rollouts',
          payload: 'x',
          headers: { 'content-type': 'text/plain' },
        })
      ).statusCode,
    ).toBe(415);
  });
});

describe('POST /v1/services/:name/rollout/{action}', () => {
  const act = (app: FastifyInstance, action: string, init: { payload?: string; contentType?: string } = {}) =>
    app.inject({
      method: 'POST',
      url: `/v1/services/web/rollout/${action}`,
      payload: init.payload,
      headers: init.contentType ? { 'content-type': init.contentType } : {},
    });

  it('accepts an empty body without a content type', async () => {
    const { app, rollouts } = setup();
    for (const action of ['promote', 'abort', 'pause', 'resume']) {
      const res = await act(app, action);
      expect(res.statusCode, action).toBe(200);
    }
    expect(rollouts.acts.map((a) => [a.action, a.opts])).toEqual([
      ['promote', { full: false, reason: null }],
      ['abort', { full: false, reason: null }],
      ['pause', { full: false, reason: null }],
      ['resume', { full: false, reason: null }],
    ]);
  });

  it('accepts an empty body sent as application/json', async () => {
    const { app, rollouts } = setup();
    const res = await act(app, 'resume', { payload: '', contentType: 'application/json' });
    expect(res.statusCode).toBe(200);
    expect(rollouts.acts).toHaveLength(1);
  });

  it('passes full and reason from the body and returns the new status', async () => {
    const { app, rollouts } = setup();
    const p = await act(app, 'promote', { payload: '{"full":true}', contentType: 'application/json' });
    expect(p.json()).toMatchObject({ phase: 'progressing' });
    const a = await act(app, 'abort', { payload: '{"reason":"bad build"}', contentType: 'application/json' });
    expect(a.json()).toMatchObject({ phase: 'rolling-back' });
    await act(app, 'pause', { payload: '{"reason":"lunch"}', contentType: 'application/json' });
    expect(rollouts.acts.map((x) => x.opts)).toEqual([
      { full: true, reason: null },
      { full: false, reason: 'bad build' },
      { full: false, reason: 'lunch' },
    ]);
  });

  it('validates action bodies', async () => {
    const { app, rollouts } = setup();
    const r1 = await act(app, 'promote', { payload: '{"full":"yes"}', contentType: 'application/json' });
    expect(r1.statusCode).toBe(400);
    expect((r1.json() as ErrorBody).error.problems?.[0]?.path).toBe('full');
    const r2 = await act(app, 'resume', { payload: '{"reason":"x"}', contentType: 'application/json' });
    expect(r2.statusCode).toBe(400);
    expect((r2.json() as ErrorBody).error.problems?.[0]?.path).toBe('reason');
    expect(rollouts.acts).toHaveLength(0);
  });

  it('passes a 409 naming the phase through', async () => {
    const { app, rollouts } = setup();
    rollouts.actResult = (_s, action) =>
      err(new ConflictError(`cannot ${action} rollout r-1 of web: phase is succeeded`, 'invalid_phase'));
    const res = await act(app, 'pause');
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({
      error: { code: 'invalid_phase', message: 'cannot pause rollout r-1 of web: phase is succeeded' },
    });
  });

  it('answers 404 for an unknown service and for an unknown action', async () => {
    const { app } = setup();
    expect((await app.inject({ method: 'POST', url: '/v1/services/nope/rollout/pause' })).statusCode).toBe(404);
    expect((await act(app, 'explode')).statusCode).toBe(404);
  });

  it('still refuses an empty JSON body on routes that need one', async () => {
    const { app } = setup();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/services/web/shift',
      payload: '',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'invalid_json' } });
  });

  it('returns the status the port answered with', async () => {
    const { app, rollouts } = setup();
    rollouts.actResult = () => ({ ok: true, value: fakeRollout({ phase: 'paused', reason: 'lunch', step: 1 }) });
    const res = await act(app, 'pause');
    expect(res.json()).toMatchObject({ phase: 'paused', reason: 'lunch', step: 1 });
  });
});

describe('empty bodies on unknown routes', () => {
  it('answers an empty JSON POST to an unknown route 404 (its body is never read, so no crash)', async () => {
    const { app } = setup();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/nope',
      payload: '',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});
