// The rollout history with two veer replicas (separate processes) on one redis-server: a rollout
// started through the follower and finished by the leader is recorded once, both replicas list the
// same history, and after the leader is killed the new leader neither records it again nor loses it.
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { RolloutHistoryEntry } from '../../../src/api/ports.js';
import type { History } from '../../../src/domain/history.js';
import { isTerminal } from '../../../src/domain/rollout.js';
import { STATE_FIELD, stateKey } from '../../../src/store/keys.js';
import { waitFor } from '../../helpers/process.js';
import { startTraffic } from '../../helpers/traffic.js';
import { service } from '../../helpers/veer.js';
import {
  POLICY,
  freshPrefix,
  getJson,
  postJson,
  startReplicas,
  status,
  waitForLeader,
  type Replica,
} from './harness.js';
import { useReplicaSuite } from './suite.js';

const suite = useReplicaSuite();

const listOf = async (r: Replica): Promise<RolloutHistoryEntry[]> =>
  (await getJson<{ rollouts: RolloutHistoryEntry[] }>(`${r.adminUrl}/v1/services/web/rollouts`)).rollouts;

async function ended(rs: readonly Replica[], id: string): Promise<void> {
  await waitFor(
    async () => {
      const all = await Promise.all(rs.map(status));
      return all.every((s) => s.rollout?.id === id && isTerminal(s.rollout.phase));
    },
    { timeoutMs: 30_000, intervalMs: 100, what: `rollout ${id} to end on every replica` },
  );
}

/** What the store itself holds (not the list, which also shows a latest rollout not recorded yet). */
async function stored(prefix: string): Promise<string[]> {
  const c = new Redis(suite.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await c.connect();
    const data = await c.hget(stateKey(prefix, 'history/web'), STATE_FIELD.data);
    return data === null ? [] : (JSON.parse(data) as History).entries.map((e) => e.id);
  } finally {
    c.disconnect();
  }
}

describe('rollout history across replicas', () => {
  it('a rollout finished by the leader is recorded once; both replicas list it; a new leader keeps it', async () => {
    const stable = await suite.upstream('stable');
    const canary = await suite.upstream('canary');
    const prefix = freshPrefix('history');
    const rs = await startReplicas({
      redisUrl: suite.redis.url,
      prefix,
      count: 2,
      services: [service('web', [stable.address], [], { rollout: { ...POLICY, steps: [50, 100], maxP99Ms: 10_000 } })],
    });
    const leader = await waitForLeader(rs);
    const follower = rs.find((r) => r !== leader) as Replica;
    for (const r of rs) suite.track(startTraffic({ url: r.dataUrl, rps: 100, maxMs: 50_000 }));
    const started = await postJson<{ id: string }>(`${follower.adminUrl}/v1/services/web/rollouts`, {
      canary: { targets: [canary.address] },
    });
    expect(started.status, JSON.stringify(started.json)).toBe(201);
    const first = started.json.id;
    await ended(rs, first);
    await waitFor(async () => (await stored(prefix)).length === 1, {
      timeoutMs: 5_000,
      what: 'the leader to record it',
    });
    expect(await stored(prefix)).toEqual([first]);
    const [a, b] = await Promise.all(rs.map(listOf));
    expect(a).toEqual(b);
    expect(a?.map((e) => [e.id, e.phase])).toEqual([[first, 'succeeded']]);
    expect(a?.[0]?.timeline.map((m) => m.kind).slice(-2)).toEqual(['promoting', 'succeeded']);

    // The leader dies: the follower leads, looks at every rollout again, and records nothing twice.
    await leader.kill9();
    expect(await waitForLeader([follower])).toBe(follower);
    const second = await postJson<{ id: string }>(`${follower.adminUrl}/v1/services/web/rollouts`, {
      canary: { targets: [(await suite.upstream('next')).address] },
      rollout: { steps: [50, 100], stepInterval: '1m' },
    });
    expect(second.status, JSON.stringify(second.json)).toBe(201);
    const abort = await postJson(`${follower.adminUrl}/v1/services/web/rollout/abort`, {});
    expect(abort.status).toBe(200);
    await ended([follower], second.json.id);
    await waitFor(async () => (await stored(prefix)).length === 2, { timeoutMs: 5_000, what: 'the abort recorded' });
    expect(await stored(prefix)).toEqual([second.json.id, first]);
    expect((await listOf(follower)).map((e) => [e.id, e.phase])).toEqual([
      [second.json.id, 'aborted'],
      [first, 'succeeded'],
    ]);
  }, 90_000);
});
