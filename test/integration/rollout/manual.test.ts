// Operators driving a real rollout through the admin API: promote (a step, or all the way), pause and
// resume, abort, a manual shift that pauses the rollout, and the answers to requests that do not fit
// the rollout's phase (409 naming the phase) or are malformed (400 naming the field). The policy's
// step interval is a minute, so every move here is the operator's.
import { describe, expect, it } from 'vitest';
import type { ServiceStatus } from '../../../src/api/ports.js';
import type { RolloutEvent } from '../../../src/domain/rollout.js';
import { waitFor } from '../../helpers/process.js';
import { startTraffic } from '../../helpers/traffic.js';
import { admin, service, useHarness, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();

const POLICY = {
  steps: [10, 50, 100],
  stepInterval: '1m',
  analysisInterval: '250ms',
  minRequests: 20,
  drainTimeout: '2s',
};

interface ErrorBody {
  error: { code: string; message: string };
}
interface Rollout {
  id: string;
  phase: string;
  step: number;
  weight: number;
  reason: string | null;
}

const status = async (v: TestVeer): Promise<ServiceStatus> =>
  (await admin<ServiceStatus>(v, 'GET', '/v1/services/web')).json;
const events = async (v: TestVeer): Promise<RolloutEvent[]> =>
  (await admin<{ events: RolloutEvent[] }>(v, 'GET', '/v1/services/web/events?limit=1000')).json.events;
const milestones = (es: RolloutEvent[]): string[] => es.filter((e) => e.kind !== 'analysis').map((e) => e.kind);
const act = (v: TestVeer, action: string, body?: unknown) =>
  admin<Rollout & ErrorBody>(v, 'POST', `/v1/services/web/rollout/${action}`, body);
const phaseIs = (v: TestVeer, phase: string) => async () => (await status(v)).rollout?.phase === phase;

async function setup(): Promise<{ v: TestVeer; stable: string; canary: string }> {
  const stable = await h.upstream('stable');
  const canary = await h.upstream('canary');
  const v = await h.veer({ services: [service('web', [stable.address], [], { rollout: POLICY })] });
  return { v, stable: stable.address, canary: canary.address };
}

async function start(v: TestVeer, target: string): Promise<Rollout> {
  const r = await admin<Rollout>(v, 'POST', '/v1/services/web/rollouts', {
    canary: { targets: [target] },
    rollout: {},
  });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  return r.json;
}

describe('manual control of a running rollout', () => {
  it('promote steps, pause/resume, promote full; then every action is refused in the terminal phase', async () => {
    const { v, canary } = await setup();
    const first = await start(v, canary);
    expect(first).toMatchObject({ phase: 'progressing', step: 0, weight: 10 });

    const again = await admin<ErrorBody>(v, 'POST', '/v1/services/web/rollouts', { canary: { targets: [canary] } });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('rollout_in_progress');
    expect(again.json.error.message).toContain(first.id);

    const promoted = await act(v, 'promote');
    expect(promoted.status).toBe(200);
    expect(promoted.json).toMatchObject({ id: first.id, phase: 'progressing', step: 1, weight: 50 });
    expect((await status(v)).weight).toBe(50);
    // The weight is what the data plane does, not just what the API says.
    // A sample of 200 answers however long a loaded machine takes (bounded), not a timed burst.
    const sample = startTraffic({
      url: v.url,
      rps: 400,
      maxMs: 10_000,
      until: () => sample.snapshot().completed >= 200,
    });
    const burst = await sample.done;
    expect(burst.completed).toBeGreaterThanOrEqual(200);
    const share = (burst.byUpstream.canary ?? 0) / burst.completed;
    expect(share).toBeGreaterThan(0.35);
    expect(share).toBeLessThan(0.65);

    const paused = await act(v, 'pause', { reason: 'checking dashboards' });
    expect(paused.json).toMatchObject({ phase: 'paused', reason: 'checking dashboards', weight: 50 });
    const pausedTwice = await act(v, 'pause');
    expect(pausedTwice.status).toBe(409);
    expect(pausedTwice.json.error.message).toMatch(/phase is paused/);
    const resumed = await act(v, 'resume');
    expect(resumed.json).toMatchObject({ phase: 'progressing', step: 1, weight: 50 });

    const full = await act(v, 'promote', { full: true });
    expect(full.status).toBe(200);
    expect(['promoting', 'succeeded']).toContain(full.json.phase);
    await waitFor(phaseIs(v, 'succeeded'), { timeoutMs: 5_000, intervalMs: 10, what: 'succeeded' });
    const s = await status(v);
    expect(s.weight).toBe(0);
    expect(s.pools.stable.targets.map((t) => t.id)).toEqual([canary]);
    expect(s.pools.canary.targets).toEqual([]);

    for (const action of ['promote', 'pause', 'resume', 'abort']) {
      const r = await act(v, action);
      expect(r.status, action).toBe(409);
      expect(r.json.error.message, action).toMatch(/phase is succeeded/);
    }
    expect(milestones(await events(v))).toEqual([
      'started',
      'canary-ready',
      'step',
      'paused',
      'resumed',
      'promoting',
      'succeeded',
    ]);
  });

  it('abort rolls back to weight 0 and removes the canary; the rollout is then over', async () => {
    const { v, stable, canary } = await setup();
    await start(v, canary);
    expect((await act(v, 'promote')).json.weight).toBe(50);

    const aborted = await act(v, 'abort', { reason: 'wrong build' });
    expect(aborted.status).toBe(200);
    expect(aborted.json.weight).toBe(0);
    await waitFor(phaseIs(v, 'aborted'), { timeoutMs: 5_000, intervalMs: 10, what: 'aborted' });
    const s = await status(v);
    expect(s.rollout?.reason).toBe('wrong build');
    expect(s.weight).toBe(0);
    expect(s.pools.canary.targets).toEqual([]);
    expect(s.pools.stable.targets.map((t) => t.id)).toEqual([stable]);

    const resume = await act(v, 'resume');
    expect(resume.status).toBe(409);
    expect(resume.json.error.message).toMatch(/phase is aborted/);
    const burst = await startTraffic({ url: v.url, rps: 200, maxMs: 300 }).done;
    expect(burst.byUpstream).toEqual({ stable: burst.completed });
    // A finished rollout does not block the next one.
    const next = await start(v, canary);
    expect(next.phase).toBe('progressing');
  });

  it('a manual shift during a rollout pauses it, and says why', async () => {
    const { v, canary } = await setup();
    await start(v, canary);
    const shift = await admin<ServiceStatus>(v, 'POST', '/v1/services/web/shift', { weight: 25 });
    expect(shift.status).toBe(200);
    const s = await status(v);
    expect(s.weight).toBe(25);
    expect(s.rollout?.phase).toBe('paused');
    expect(s.rollout?.reason).toMatch(/shift/);
    expect(s.rollout?.reason).toMatch(/25%/);
    const paused = (await events(v)).filter((e) => e.kind === 'paused');
    expect(paused).toHaveLength(1);
    expect(paused[0]?.message).toMatch(/shift/);
    // Resuming carries on from where the operator put the weight.
    expect((await act(v, 'resume')).json).toMatchObject({ phase: 'progressing', weight: 25 });
  });

  it('malformed requests are refused with 400 naming the field, and start nothing', async () => {
    const { v, canary } = await setup();
    const cases: Array<{ body: unknown; field: RegExp }> = [
      { body: { canary: { targets: [] } }, field: /canary\.targets/ },
      { body: { canary: { targets: [canary] }, rollout: { steps: [50, 10] } }, field: /rollout\.steps/ },
      { body: { canary: { targets: ['not a target'] } }, field: /canary\.targets/ },
      { body: { canary: { targets: [canary] }, rollout: { stepInterval: 'soon' } }, field: /rollout\.stepInterval/ },
      { body: {}, field: /canary/ },
      // A service with static targets has no containers to clone.
      { body: { canary: { image: 'app:2' } }, field: /canary\.image: image rollouts need Docker pools/ },
      { body: { canary: { image: 'app:2', count: 0 } }, field: /canary\.count/ },
      { body: { canary: { image: 'app:2', env: ['NOEQUALS'] } }, field: /canary\.env/ },
    ];
    for (const c of cases) {
      const r = await admin<ErrorBody>(v, 'POST', '/v1/services/web/rollouts', c.body);
      expect(r.status, JSON.stringify(c.body)).toBe(400);
      expect(r.json.error.message, JSON.stringify(c.body)).toMatch(c.field);
    }
    const badAction = await act(v, 'promote', { fast: true });
    expect(badAction.status).toBe(400);
    const unknown = await admin<ErrorBody>(v, 'POST', '/v1/services/nope/rollouts', { canary: { targets: [canary] } });
    expect(unknown.status).toBe(404);
    const noRollout = await act(v, 'promote');
    expect(noRollout.status).toBe(409);
    expect((await status(v)).rollout).toBeNull();
    expect(await events(v)).toEqual([]);
  });
});
