// Rollout history, undo and retry on static pools: real upstreams on 127.0.0.1:0, veer in-process,
// real traffic judged by veer's own measurements. The history lists each rollout once with its
// timeline; undo puts the old targets back through an ordinary (short) rollout; retry runs an
// aborted rollout's canary again with the same overrides; the file store keeps the history.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RolloutHistoryEntry, RolloutStatus, ServiceStatus } from '../../../src/api/ports.js';
import { isTerminal } from '../../../src/domain/rollout.js';
import { startTraffic, type Traffic } from '../../helpers/traffic.js';
import { admin, service, useHarness, waitFor, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();

// maxLatencyRatio 5: ~1 ms loopback latencies make the 1.5x p99 ratio a test of CPU noise (canary.test.ts).
const POLICY = {
  steps: [50, 100],
  stepInterval: '1s',
  analysisInterval: '250ms',
  minRequests: 20,
  drainTimeout: '1s',
  maxLatencyRatio: 5,
};

type Answer<T> = { status: number; json: T };
const history = async (v: TestVeer, query = ''): Promise<Answer<{ rollouts: RolloutHistoryEntry[] }>> =>
  admin(v, 'GET', `/v1/services/web/rollouts${query}`);
const rolloutOf = async (v: TestVeer): Promise<RolloutStatus | null> =>
  (await admin<ServiceStatus>(v, 'GET', '/v1/services/web')).json.rollout;
const post = <T>(v: TestVeer, path: string, body?: unknown): Promise<Answer<T>> =>
  admin<T>(v, 'POST', `/v1/services/web${path}`, body);
const codeOf = (a: Answer<unknown>): string | undefined => (a.json as { error?: { code?: string } }).error?.code;

async function ended(v: TestVeer, id: string): Promise<RolloutStatus> {
  return waitFor(
    async () => {
      const r = await rolloutOf(v);
      return r !== null && r.id === id && isTerminal(r.phase) ? r : null;
    },
    { timeoutMs: 30_000, intervalMs: 50, what: `rollout ${id} to end` },
  );
}

function traffic(v: TestVeer): Traffic {
  const t = startTraffic({ url: v.url, rps: 150, maxMs: 60_000 });
  h.defer(() => t.stop().catch(() => undefined));
  return t;
}

describe('rollout history, undo and retry (static pools)', () => {
  it('a promoted rollout is listed with its timeline; undo brings the old targets back', async () => {
    const stable = await h.upstream('old');
    const canary = await h.upstream('new');
    const v = await h.veer({ services: [service('web', [stable.address], [], { rollout: POLICY })] });
    const t = traffic(v);
    await waitFor(() => t.snapshot().completed >= 50, { timeoutMs: 5_000, intervalMs: 10, what: 'warm-up traffic' });
    const started = await post<RolloutStatus>(v, '/rollouts', { canary: { targets: [canary.address] } });
    expect(started.status).toBe(201);
    const first = await ended(v, started.json.id);
    expect(first.phase, first.reason ?? '').toBe('succeeded');

    const [entry] = (await history(v)).json.rollouts;
    expect(entry).toMatchObject({
      id: first.id,
      strategy: 'canary',
      phase: 'succeeded',
      canary: { targets: [canary.address] },
      stable: { targets: [stable.address] },
      overrides: {},
      origin: null,
      timelineCut: 0,
    });
    expect(Date.parse(entry?.endedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(entry?.startedAt ?? ''));
    const kinds = entry?.timeline.map((m) => m.kind) ?? [];
    // Step 1 at 50%, the pass that ended it, the promotion and its end, in that order.
    expect(kinds[0]).toBe('step');
    expect(entry?.timeline[0]?.weight).toBe(50);
    expect(kinds.slice(-3)).toEqual(['pass', 'promoting', 'succeeded']);

    const undo = await post<RolloutStatus>(v, '/rollout/undo');
    expect(undo.status, JSON.stringify(undo.json)).toBe(201);
    expect(undo.json.steps).toEqual([100]);
    // One rollout at a time: a second undo (or a retry) while it runs is refused, naming it.
    const again = await post(v, '/rollout/undo');
    expect([again.status, codeOf(again)]).toEqual([409, 'rollout_in_progress']);
    const back = await ended(v, undo.json.id);
    expect(back.phase, back.reason ?? '').toBe('succeeded');
    const s = (await admin<ServiceStatus>(v, 'GET', '/v1/services/web')).json;
    expect(s.pools.stable.targets.map((x) => x.id)).toEqual([stable.address]);
    const before = t.snapshot();
    await waitFor(() => t.snapshot().completed >= before.completed + 100, { timeoutMs: 10_000, what: '100 more' });
    const report = await t.stop();
    expect(report.failures).toBe(0);
    expect((report.byUpstream.new ?? 0) - (before.byUpstream.new ?? 0)).toBe(0);

    const list = (await history(v)).json.rollouts;
    expect(list.map((e) => [e.id, e.phase, e.origin])).toEqual([
      [undo.json.id, 'succeeded', { kind: 'undo', of: first.id }],
      [first.id, 'succeeded', null],
    ]);
    expect(list[0]).toMatchObject({ canary: { targets: [stable.address] }, stable: { targets: [canary.address] } });
    expect(list[0]?.overrides).toMatchObject({ steps: [100], failureLimit: 1 });
    expect((await history(v, '?limit=1')).json.rollouts.map((e) => e.id)).toEqual([undo.json.id]);
  });

  it('retry after an abort runs the same canary with the same overrides; refusals are 409s', async () => {
    const stable = await h.upstream('old');
    const canary = await h.upstream('new');
    const v = await h.veer({ services: [service('web', [stable.address], [], { rollout: POLICY })] });
    const nothing = await post(v, '/rollout/retry');
    expect([nothing.status, codeOf(nothing)]).toEqual([409, 'nothing_to_retry']);
    const noUndo = await post(v, '/rollout/undo');
    expect([noUndo.status, codeOf(noUndo)]).toEqual([409, 'nothing_to_undo']);

    const overrides = { steps: [25, 100], stepInterval: '1m' };
    const started = await post<RolloutStatus>(v, '/rollouts', {
      canary: { targets: [canary.address] },
      rollout: overrides,
    });
    expect(started.status).toBe(201);
    const running = await post(v, '/rollout/retry');
    expect([running.status, codeOf(running)]).toEqual([409, 'rollout_in_progress']);
    expect((await post(v, '/rollout/abort', { reason: 'wrong build' })).status).toBe(200);
    const aborted = await ended(v, started.json.id);
    expect(aborted.phase).toBe('aborted');

    const retried = await post<RolloutStatus>(v, '/rollout/retry');
    expect(retried.status, JSON.stringify(retried.json)).toBe(201);
    expect(retried.json.id).not.toBe(started.json.id);
    expect(retried.json).toMatchObject({ steps: [25, 100], weight: 25, canary: { targets: [canary.address] } });
    const list = (await history(v)).json.rollouts;
    // The running retry on top, then the aborted rollout it repeats (recorded once).
    expect(list.map((e) => [e.id, e.phase])).toEqual([
      [retried.json.id, 'progressing'],
      [started.json.id, 'aborted'],
    ]);
    expect(list[0]).toMatchObject({ endedAt: null, origin: { kind: 'retry', of: started.json.id } });
    expect(list[0]?.overrides).toEqual({ steps: [25, 100], stepInterval: 60_000 });
    expect(list[1]).toMatchObject({ reason: 'wrong build', overrides: { steps: [25, 100], stepInterval: 60_000 } });
    expect(list[1]?.timeline.map((m) => m.kind)).toEqual(['step', 'rolling-back', 'aborted']);

    expect((await post(v, '/rollout/promote', { full: true })).status).toBe(200);
    expect((await ended(v, retried.json.id)).phase).toBe('succeeded');
    const done = await post(v, '/rollout/retry');
    expect([done.status, codeOf(done)]).toEqual([409, 'nothing_to_retry']);
  });

  it('answers 404 for an unknown service and 400 for a bad limit, in the API error shape', async () => {
    const stable = await h.upstream('old');
    const v = await h.veer({ services: [service('web', [stable.address], [], { rollout: POLICY })] });
    const unknown = await admin(v, 'GET', '/v1/services/nope/rollouts');
    expect(unknown).toEqual({
      status: 404,
      json: { error: { code: 'not_found', message: "service 'nope' not found" } },
    });
    expect((await admin(v, 'POST', '/v1/services/nope/rollout/undo')).status).toBe(404);
    const bad = await history(v, '?limit=0');
    expect([bad.status, codeOf(bad)]).toEqual([400, 'invalid_request']);
    expect((await history(v)).json).toEqual({ rollouts: [] });
    const body = await post(v, '/rollout/retry', { force: true });
    expect([body.status, codeOf(body)]).toEqual([400, 'invalid_request']);
  });

  it('the file store keeps the history across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'veer-history-'));
    h.defer(() => rm(dir, { recursive: true, force: true }));
    const stable = await h.upstream('old');
    const canary = await h.upstream('new');
    const opts = {
      services: [service('web', [stable.address], [], { rollout: POLICY })],
      state: { store: 'file', path: join(dir, 'state.json') },
    };
    const v = await h.veer(opts);
    const started = await post<RolloutStatus>(v, '/rollouts', { canary: { targets: [canary.address] } });
    expect((await post(v, '/rollout/promote', { full: true })).status).toBe(200);
    await ended(v, started.json.id);
    const before = (await history(v)).json.rollouts;
    await v.close();

    const again = await h.veer(opts);
    const after = (await history(again)).json.rollouts;
    expect(after).toEqual(before);
    expect(after.map((e) => [e.id, e.phase])).toEqual([[started.json.id, 'succeeded']]);
    expect(after[0]?.timeline.map((m) => m.kind)).toEqual(['step', 'promoting', 'succeeded']);
  });
});
