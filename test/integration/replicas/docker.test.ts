// Docker pools with two replicas sharing Redis: the follower routes to the containers the leader's
// watcher found (through the routing records), an image rollout posted to the follower is carried
// out by the leader alone - one set of canary containers, not one per replica - and both replicas
// end on the new generation with the old containers removed.
import { expect, it } from 'vitest';
import { dockerSuite } from '../../helpers/docker.js';
import { containersOf, startStable, useDockerApps } from '../../helpers/docker-veer.js';
import { waitFor } from '../../helpers/process.js';
import { startTraffic, trouble } from '../../helpers/traffic.js';
import { allOwnEvents, freshPrefix, postJson, startReplicas, status, waitForLeader, type Replica } from './harness.js';
import { useReplicaSuite } from './suite.js';

const describeDocker = await dockerSuite('replicas/docker.test');
const suite = useReplicaSuite();
const apps = useDockerApps();

const poolSize = async (r: Replica, pool: 'stable' | 'canary'): Promise<number> =>
  (await status(r)).pools[pool].targets.length;

describeDocker('Docker pools with two replicas', () => {
  it(
    'the leader alone creates the canaries of a rollout posted to the follower; both end on the new generation',
    { timeout: 120_000 },
    async () => {
      const app = apps.app('replicas');
      const stable = await startStable(app, 2);
      const rs = await startReplicas({
        redisUrl: suite.redis.url,
        prefix: freshPrefix('docker'),
        count: 2,
        docker: { owner: `t-replicas-${process.pid}` },
        services: [
          {
            name: 'web',
            stable: { docker: { selector: { app }, port: 8080 } },
            rollout: {
              steps: [50, 100],
              stepInterval: '1s',
              analysisInterval: '250ms',
              minRequests: 20,
              drainTimeout: '2s',
              maxLatencyRatio: 5,
            },
          },
        ],
      });
      const leader = await waitForLeader(rs);
      const follower = rs.find((r) => r !== leader) as Replica;
      for (const r of rs)
        await waitFor(async () => (await poolSize(r, 'stable')) === 2, {
          timeoutMs: 15_000,
          intervalMs: 100,
          what: `replica ${r.name} to route to both containers`,
        });

      const loads = rs.map((r) =>
        suite.track(startTraffic({ url: r.dataUrl, rps: 60, maxMs: 60_000, upstreamHeader: 'x-app-version' })),
      );
      const posted = await postJson<{ id: string; phase: string }>(`${follower.adminUrl}/v1/services/web/rollouts`, {
        canary: { image: 'veer-test-app:2' },
      });
      expect(posted.status, JSON.stringify(posted.json)).toBe(201);
      expect(posted.json.phase).toBe('starting');
      const id = posted.json.id;
      await waitFor(
        async () =>
          (await Promise.all(rs.map(async (r) => (await status(r)).rollout?.phase))).every(
            (p) => p === 'succeeded' || p === 'rolled-back',
          ),
        {
          timeoutMs: 60_000,
          intervalMs: 200,
          what: 'the rollout to end on both replicas',
        },
      );
      const reports = await Promise.all(loads.map((t) => t.stop()));

      for (const r of rs) expect((await status(r)).rollout, r.name).toMatchObject({ id, phase: 'succeeded' });
      const left = await containersOf(app);
      expect(left.filter((c) => stable.some((s) => s.id === c.id))).toEqual([]);
      // One set of canaries, made by the leader.
      expect(left.map((c) => c.rollout)).toEqual([id, id]);
      // Decided once, by whichever replica led at the time (a loaded machine may move the 1 s lease).
      expect((await allOwnEvents(rs)).filter((e) => e.kind === 'canary-ready')).toHaveLength(1);
      for (const [i, r] of reports.entries()) expect(r.failures, `replica ${rs[i]?.name}: ${trouble(r)}`).toBe(0);
      for (const r of rs)
        await waitFor(async () => (await poolSize(r, 'stable')) === 2, {
          timeoutMs: 10_000,
          intervalMs: 100,
          what: `replica ${r.name} to route to the new containers`,
        });
    },
  );
});
