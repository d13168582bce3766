// Rollouts driven by three veer replicas (separate processes) sharing one redis-server: the elected
// leader judges the canary on every replica's traffic merged in Redis and decides once; when the
// leader is killed with SIGKILL mid-rollout another replica takes over within the lease TTL and
// finishes the rollout without repeating or skipping a step.
import { describe, expect, it } from 'vitest';
import { isTerminal } from '../../../src/domain/rollout.js';
import { waitFor } from '../../helpers/process.js';
import { startTraffic, trouble, type Traffic } from '../../helpers/traffic.js';
import { type TestUpstream } from '../../helpers/upstream.js';
import { service } from '../../helpers/veer.js';
import {
  LEASE_TTL_MS,
  POLICY,
  allOwnEvents,
  freshPrefix,
  ownEvents,
  postJson,
  startReplicas,
  status,
  waitForLeader,
  type Replica,
} from './harness.js';
import { useReplicaSuite } from './suite.js';

const suite = useReplicaSuite();
const upstream = suite.upstream;

function traffic(r: Replica, rps: number): Traffic {
  const t = startTraffic({ url: r.dataUrl, rps, maxMs: 40_000, until: () => terminal(r) });
  suite.track(t);
  return t;
}

const terminal = async (r: Replica): Promise<boolean> => {
  const ro = (await status(r)).rollout;
  return ro !== null && isTerminal(ro.phase);
};

/** Every 5th request fails: exactly 20%, no randomness. */
const everyFifthFails = (n: number): number => (n % 5 === 0 ? 503 : 200);

async function startRollout(via: Replica, canary: TestUpstream): Promise<string> {
  const r = await postJson<{ id: string; phase: string; weight: number }>(`${via.adminUrl}/v1/services/web/rollouts`, {
    canary: { targets: [canary.address] },
  });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  // Recorded by whichever replica was asked; carried out by the leader (at once when it was asked).
  expect(['starting', 'progressing']).toContain(r.json.phase);
  const id = r.json.id;
  await waitFor(
    async () => {
      const ro = (await status(via)).rollout;
      return ro?.id === id && ro.phase === 'progressing' && ro.weight === 10;
    },
    { timeoutMs: 10_000, what: 'the leader to make the canary ready (step 1 at 10%)' },
  );
  return id;
}

const count = (kinds: readonly string[], kind: string): number => kinds.filter((k) => k === kind).length;

describe('a rollout judged by the leader on merged metrics', () => {
  it('a canary failing 20% of requests on traffic spread over three replicas is rolled back exactly once', async () => {
    const stable = await upstream('stable');
    const canary = await upstream('canary', { status: everyFifthFails });
    const rs = await startReplicas({
      redisUrl: suite.redis.url,
      prefix: freshPrefix('merged'),
      services: [service('web', [stable.address], [], { rollout: POLICY })],
    });
    const leader = await waitForLeader(rs);
    const [viaFollower] = rs.filter((r) => r !== leader) as [Replica];
    // The leader itself sees a trickle: alone it would never have enough canary data to judge, so a
    // verdict on more canary requests than it ever proxied can only come from the merged windows.
    const loads = new Map(rs.map((r) => [r, traffic(r, r === leader ? 10 : 150)]));
    await waitFor(() => [...loads.values()].every((t) => t.snapshot().completed >= 20), {
      timeoutMs: 5_000,
      what: 'warm-up traffic on every replica',
    });
    const id = await startRollout(viaFollower, canary);

    await waitFor(async () => (await Promise.all(rs.map(terminal))).every(Boolean), {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: 'the rollout to end on every replica',
    });
    const reports = new Map(await Promise.all([...loads].map(async ([r, t]) => [r, await t.stop()] as const)));

    for (const r of rs) {
      const s = await status(r);
      expect(s.rollout?.id, r.name).toBe(id);
      expect(s.rollout?.phase, r.name).toBe('rolled-back');
      expect(s.rollout?.reason, r.name).toMatch(/error rate/);
      expect(s.weight, r.name).toBe(0);
      expect(s.pools.canary.targets, r.name).toEqual([]);
      expect(
        s.pools.stable.targets.map((t) => t.id),
        r.name,
      ).toEqual([stable.address]);
    }
    const verdict = (await status(leader)).rollout?.lastVerdict;
    expect(verdict?.result).toBe('fail');
    const leaderCanary = reports.get(leader)?.byUpstream.canary ?? 0;
    console.info(
      `[replicas] rolled back on a verdict over ${verdict?.canary.requests} canary requests ` +
        `(${verdict?.canary.errors} errors); the leader proxied ${leaderCanary} canary requests in all, ` +
        `the canary served ${canary.hits}`,
    );
    expect(verdict?.canary.requests, `leader proxied ${leaderCanary} canary requests`).toBeGreaterThan(leaderCanary);
    expect(verdict?.canary.requests).toBeLessThanOrEqual(canary.hits);
    expect(verdict?.canary.errors).toBeGreaterThan(0);

    const all = await allOwnEvents(rs);
    const kinds = all.map((e) => e.kind);
    const summary = all.map((e) => `${e.by}:${e.kind}`).join(' ');
    expect(count(kinds, 'rolling-back'), summary).toBe(1);
    expect(count(kinds, 'rolled-back'), summary).toBe(1);
    expect(count(kinds, 'started'), summary).toBe(1);
    expect(kinds, summary).not.toContain('promoting');
    expect(kinds, summary).not.toContain('succeeded');
    // Who did what: the follower took the request, the leader made the decision.
    expect(all.find((e) => e.kind === 'started')?.by).toBe(viaFollower.name);
    expect(all.find((e) => e.kind === 'rolling-back')?.by).toBe(leader.name);
    expect(new Set(all.filter((e) => e.rolloutId !== null).map((e) => e.rolloutId))).toEqual(new Set([id]));
    // The leader's own log has the decision; the followers' own logs have no decision of their own.
    for (const r of rs.filter((x) => x !== leader))
      expect((await ownEvents(r)).map((e) => e.kind)).not.toContain('analysis');

    // The canary is gone from every data plane.
    const hits = canary.hits;
    const after = await Promise.all(rs.map((r) => startTraffic({ url: r.dataUrl, rps: 100, maxMs: 300 }).done));
    for (const a of after) {
      expect(a.failures).toBe(0);
      expect(a.byUpstream).toEqual({ stable: a.completed });
    }
    expect(canary.hits).toBe(hits);
  }, 60_000);
});

describe('leader failover', () => {
  it('kill -9 of the leader mid-rollout: another replica takes over within the lease TTL and finishes', async () => {
    const stable = await upstream('stable');
    const canary = await upstream('canary');
    const rs = await startReplicas({
      redisUrl: suite.redis.url,
      prefix: freshPrefix('failover'),
      services: [service('web', [stable.address], [], { rollout: POLICY })],
    });
    const leader = await waitForLeader(rs);
    const survivors = rs.filter((r) => r !== leader);
    const loads = new Map(rs.map((r) => [r, traffic(r, 100)]));
    await waitFor(() => [...loads.values()].every((t) => t.snapshot().completed >= 50), {
      timeoutMs: 5_000,
      what: 'warm-up traffic on every replica',
    });
    const id = await startRollout(survivors[0] as Replica, canary);

    // Kill at step 1 (30%): one step behind it, one ahead (50%, the last below 100%). The leader's
    // own events are read just before: the next step is a whole stepInterval and an analysis away.
    await waitFor(async () => (await status(leader)).rollout?.step === 1, {
      timeoutMs: 15_000,
      intervalMs: 20,
      what: 'the leader to reach step 1',
    });
    const leaderEvents = (await ownEvents(leader)).map((e) => ({ ...e, by: leader.name }));
    await loads.get(leader)?.stop();
    const before = await Promise.all(survivors.map((r) => loads.get(r)?.snapshot()));
    await leader.kill9();
    const killedAt = Date.now();

    const next = await waitForLeader(survivors, 10_000);
    const takeoverMs = Date.now() - killedAt;
    console.info(
      `[replicas] leader ${leader.name} killed; ${next.name} leads after ${takeoverMs} ms ` +
        `(lease TTL ${LEASE_TTL_MS} ms)`,
    );
    // Redis expires the dead leader's key at most one TTL after its last renewal; the others try
    // every TTL/3. The margin covers that and timer lateness on a busy 2-core machine.
    expect(takeoverMs).toBeLessThanOrEqual(LEASE_TTL_MS + 1_000);

    await waitFor(async () => (await Promise.all(survivors.map(terminal))).every(Boolean), {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: 'the rollout to end on the survivors',
    });
    for (const r of survivors) {
      const s = await status(r);
      expect(s.rollout?.id, r.name).toBe(id);
      expect(s.rollout?.phase, r.name).toBe('succeeded');
      expect(s.weight, r.name).toBe(0);
      expect(
        s.pools.stable.targets.map((t) => t.id),
        r.name,
      ).toEqual([canary.address]);
      expect(s.pools.canary.targets, r.name).toEqual([]);
    }
    const all = [...leaderEvents, ...(await allOwnEvents(survivors))].sort(
      (a, b) => Date.parse(a.at) - Date.parse(b.at),
    );
    const summary = all
      .filter((e) => e.kind !== 'analysis')
      .map((e) => `${e.by}:${e.kind}${e.kind === 'step' ? `@${e.weight}` : ''}`)
      .join(' ');
    const steps = all.filter((e) => e.kind === 'step');
    expect(
      steps.map((e) => e.weight),
      summary,
    ).toEqual([30, 50]);
    expect(
      steps.map((e) => e.by),
      summary,
    ).toEqual([leader.name, next.name]);
    const kinds = all.map((e) => e.kind);
    for (const k of ['started', 'canary-ready', 'promoting', 'succeeded'])
      expect(count(kinds, k), `${k} in ${summary}`).toBe(1);
    expect(kinds, summary).not.toContain('rolling-back');

    // The survivors' clients saw nothing of the failover.
    for (const [i, r] of survivors.entries()) {
      const report = await loads.get(r)?.stop();
      expect(report?.failures, `${r.name}: ${report === undefined ? 'no report' : trouble(report)}`).toBe(0);
      expect(report?.completed ?? 0, r.name).toBeGreaterThan(before[i]?.completed ?? 0);
    }
    // Its own waits: the canary ready 10 s, traffic 5 s, step 1 15 s, the end 20 s (28.6 s in a loaded CI).
  }, 90_000);
});
