// Gates with three veer replicas (separate processes) on one redis-server: only the leader asks a
// gate, once per occasion (each refusal, then the pass), whichever replica took the request; after
// the leader dies, a survivor asks (an ask whose answer was not recorded is asked again).
import { describe, expect, it } from 'vitest';
import { isTerminal } from '../../../src/domain/rollout.js';
import { startGate, type TestGate } from '../../helpers/gate-server.js';
import { waitFor } from '../../helpers/process.js';
import { startTraffic } from '../../helpers/traffic.js';
import { service } from '../../helpers/veer.js';
import { POLICY, allOwnEvents, freshPrefix, postJson, startReplicas, status, waitForLeader } from './harness.js';
import type { Replica } from './harness.js';
import { useReplicaSuite } from './suite.js';

const suite = useReplicaSuite();

async function cluster(tag: string, leaseTtlMs?: number) {
  const g: TestGate = await startGate({ status: 503, body: 'smoke failed' });
  suite.track({ stop: () => g.close() });
  const stable = await suite.upstream('stable');
  const canary = await suite.upstream('canary');
  const gates = { beforeTraffic: { url: g.url, retries: 0 }, beforeEachStep: { url: g.url, retries: 0 } };
  const rs = await startReplicas({
    redisUrl: suite.redis.url,
    prefix: freshPrefix(tag),
    services: [service('web', [stable.address], [], { rollout: { ...POLICY, gates } })],
    leaseTtlMs,
  });
  const leader = await waitForLeader(rs);
  const done = async (r: Replica): Promise<boolean> => {
    const ro = (await status(r)).rollout;
    return ro !== null && isTerminal(ro.phase);
  };
  for (const r of rs) suite.track(startTraffic({ url: r.dataUrl, rps: 60, maxMs: 80_000, until: () => done(r) }));
  return { g, rs, leader, canary, done };
}

const asks = (g: TestGate, gate: string) => g.calls.filter((c) => c.body.gate === gate);

describe('gates with several replicas', () => {
  it('only the leader asks, once per refusal and once for each pass', async () => {
    // It counts every ask against one leader, so the lease must not change hands on its own meanwhile: with
    // the suite's 1 s lease, a replica starved of CPU for a second on a busy machine loses it (and its
    // successor rightly asks again). Five seconds, veer's default, leaves only a real failure to move it.
    const { g, rs, leader, canary, done } = await cluster('gates', 5_000);
    g.reply((c) =>
      c.body.gate === 'beforeTraffic' && asks(g, 'beforeTraffic').length <= 3
        ? { status: 503, body: 'smoke failed' }
        : { status: 200, body: 'ok' },
    );
    const viaFollower = rs.find((r) => r !== leader) as Replica;
    const r = await postJson<{ id: string }>(`${viaFollower.adminUrl}/v1/services/web/rollouts`, {
      canary: { targets: [canary.address] },
    });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    await waitFor(async () => (await Promise.all(rs.map(done))).every(Boolean), {
      timeoutMs: 70_000,
      intervalMs: 100,
      what: 'the rollout to end on every replica',
    });
    expect((await status(leader)).rollout?.phase).toBe('succeeded');

    expect(new Set(g.calls.map((c) => c.replica))).toEqual(new Set([leader.id]));
    expect(asks(g, 'beforeTraffic')).toHaveLength(4);
    // Steps 10 → 30 → 50 (the last judged): two moves, each asked exactly once.
    expect(asks(g, 'beforeEachStep').map((c) => [c.body.step, c.body.nextWeight])).toEqual([
      [0, 30],
      [1, 50],
    ]);
    const all = await allOwnEvents(rs);
    const gateEvents = all.filter((e) => e.kind === 'gate');
    expect(new Set(gateEvents.map((e) => e.by))).toEqual(new Set([leader.name]));
    expect(gateEvents.filter((e) => e.message.includes(' refused '))).toHaveLength(3);
    expect(gateEvents.filter((e) => e.message.includes(' passed '))).toHaveLength(3);
  }, 90_000);

  it('after the leader dies, the next leader asks the gate', async () => {
    const { g, rs, leader, canary, done } = await cluster('gates-failover');
    const r = await postJson<{ id: string }>(`${leader.adminUrl}/v1/services/web/rollouts`, {
      canary: { targets: [canary.address] },
    });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    await waitFor(() => asks(g, 'beforeTraffic').length >= 2, { timeoutMs: 10_000, what: 'two refusals' });
    await leader.kill9();
    const killedAt = Date.now();
    const rest = rs.filter((x) => x !== leader);
    const next = await waitForLeader(rest);
    g.reply({ status: 200, body: 'ok' });
    await waitFor(async () => (await Promise.all(rest.map(done))).every(Boolean), {
      timeoutMs: 70_000,
      intervalMs: 100,
      what: 'the rollout to end',
    });
    expect((await status(next)).rollout?.phase).toBe('succeeded');
    const before = g.calls.filter((c) => c.at < killedAt);
    const after = g.calls.filter((c) => c.at >= killedAt);
    expect(new Set(before.map((c) => c.replica))).toEqual(new Set([leader.id]));
    // Leadership may move again on a loaded machine; whoever asks after the kill is a survivor.
    const survivors = new Set(rest.map((x) => x.id));
    const who = JSON.stringify({ dead: leader.id, next: next.id, after: after.map((c) => c.replica) });
    for (const c of after) expect(survivors.has(c.replica ?? ''), who).toBe(true);
    expect(after.filter((c) => c.body.gate === 'beforeTraffic').length).toBeGreaterThanOrEqual(1);
    // The weight stayed 0 until the new leader heard the pass: the canary served no one before.
    expect(before.every((c) => c.body.weight === 0)).toBe(true);
  }, 90_000);
});
