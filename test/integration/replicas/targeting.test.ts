// Targeting rules with two replicas (separate processes) sharing one redis-server: the rules a rollout
// request brings, posted to the follower, route on both replicas' data planes (they read them from the
// rollout record), and both stop once the rollout is aborted.
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/process.js';
import { http, service } from '../../helpers/veer.js';
import { POLICY, freshPrefix, postJson, startReplicas, status, waitForLeader, type Replica } from './harness.js';
import { useReplicaSuite } from './suite.js';

const suite = useReplicaSuite();

/** Which upstream answers each of `n` sequential requests to a replica. */
async function answers(r: Replica, n: number, headers: Record<string, string>): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(String((await http(r.dataUrl, { headers })).headers['x-upstream']));
  return out;
}

describe('targeting rules among replicas', () => {
  it('a rollout with rules posted to the follower targets on both replicas, until its abort', async () => {
    const stable = await suite.upstream('stable');
    const canary = await suite.upstream('canary');
    const rs = await startReplicas({
      redisUrl: suite.redis.url,
      prefix: freshPrefix('targeting'),
      count: 2,
      services: [service('web', [stable.address], [], { rollout: { ...POLICY, stepInterval: '60s' } })],
    });
    const leader = await waitForLeader(rs);
    const follower = rs.find((r) => r !== leader) as Replica;

    const targeting = [{ header: { name: 'X-Internal-User', value: '1' } }];
    const started = await postJson<{ phase: string }>(`${follower.adminUrl}/v1/services/web/rollouts`, {
      canary: { targets: [canary.address] },
      rollout: { targeting },
    });
    expect(started.status, JSON.stringify(started.json)).toBe(201);
    for (const r of rs) {
      await waitFor(async () => (await status(r)).rollout?.phase === 'progressing', {
        timeoutMs: 10_000,
        intervalMs: 20,
        what: `${r.name} progressing`,
      });
      expect((await status(r)).rollout?.targeting).toEqual(targeting);
      expect(await answers(r, 10, { 'x-internal-user': '1' })).toEqual(new Array(10).fill('canary'));
    }

    const aborted = await postJson(`${leader.adminUrl}/v1/services/web/rollout/abort`, {});
    expect(aborted.status).toBe(200);
    for (const r of rs) {
      await waitFor(async () => (await status(r)).rollout?.phase === 'aborted', {
        timeoutMs: 10_000,
        intervalMs: 20,
        what: `${r.name} aborted`,
      });
      expect(await answers(r, 10, { 'x-internal-user': '1' })).toEqual(new Array(10).fill('stable'));
    }
  });
});
