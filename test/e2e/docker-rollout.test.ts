// Image rollouts against the real Docker engine: veer clones the stable containers with the new
// image, gates them on health, shifts live traffic, judges, and removes the losing generation.
// Stable containers are test-app containers with a per-test `app` label (the service's selector).
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { expect, it } from 'vitest';
import { docker, dockerSuite, restartWitness } from '../helpers/docker.js';
import {
  adminCall,
  containersOf,
  startStable,
  useDockerApps,
  waitPhase,
  waitPoolSize,
  type DockerVeer,
} from '../helpers/docker-veer.js';
import { waitFor } from '../helpers/process.js';
import { startTraffic } from '../helpers/traffic.js';

const suite = await dockerSuite('docker-rollout.test');

// One owner per app: veer.owner plus the service name say which containers are a service's, so
// tests sharing both would share containers.
const ownerOf = (a: string): string => `t-${a}`;
const d = useDockerApps();
const app = d.app;
const veer = (a: string, rollout: Record<string, unknown> = {}): Promise<DockerVeer> =>
  d.veer({ app: a, owner: ownerOf(a), rollout });

suite('image rollouts on Docker pools', () => {
  it(
    'a good image is promoted; the old containers (restart: always) are gone and stay gone',
    { timeout: 120_000 },
    async () => {
      const a = app('good');
      const stable = await startStable(a, 2, { hostConfig: { RestartPolicy: { Name: 'always' } } });
      const v = await veer(a);
      await waitPoolSize(v.admin, 'stable', 2);
      const traffic = startTraffic({ url: v.url, rps: 80, maxMs: 90_000, upstreamHeader: 'x-app-version' });
      const started = await adminCall(v.admin, 'POST', '/v1/services/web/rollouts', {
        canary: { image: 'veer-test-app:2', env: ['GREETING=hi'] },
      });
      expect(started.status).toBe(201);
      expect(started.body.phase).toBe('starting');
      const done = await waitPhase(v.admin, ['succeeded', 'rolled-back', 'aborted'], 80_000);
      const before = traffic.snapshot();
      // A hundred requests after the promotion, every one of them answered by version 2.
      await waitFor(() => traffic.snapshot().completed >= before.completed + 100, {
        timeoutMs: 10_000,
        what: '100 requests after the promotion',
      });
      const report = await traffic.stop();
      expect(done.phase, done.reason).toBe('succeeded');
      // After promotion every request reaches version 2.
      expect(report.byUpstream['1'] ?? 0).toBe(before.byUpstream['1'] ?? 0);
      expect(report.failures).toBe(0);
      const after = await containersOf(a);
      expect(after.filter((c) => stable.some((s) => s.id === c.id))).toEqual([]);
      expect(after.map((c) => [c.rollout, c.state, c.image])).toEqual([
        [done.id, 'running', 'veer-test-app:2'],
        [done.id, 'running', 'veer-test-app:2'],
      ]);
      // The env rule: the new image's VERSION (2) wins over the old image's baked-in 1; the request's env is added.
      const info = await docker()
        .getContainer(after[0]?.id as string)
        .inspect();
      expect(info.Config.Env).toEqual(expect.arrayContaining(['VERSION=2', 'GREETING=hi']));
      expect(info.HostConfig.RestartPolicy?.Name).toBe('always');
      // The engine's restart manager keeps working meanwhile: a crashing restart-always witness is
      // restarted five times (a few seconds of back-off), and no removed stable container returns.
      const witness = await restartWitness({ app: `${a}-witness` });
      try {
        await witness.restarts(5);
      } finally {
        await witness.remove();
      }
      const later = await containersOf(a);
      expect(later.filter((c) => stable.some((s) => s.id === c.id))).toEqual([]);
      expect(later).toHaveLength(2);

      // The record of that rollout is lost (memory store, new process): the running generation is
      // still recognised as stable - routed, and not garbage even with gc at start.
      await v.close();
      const fresh = await d.veer({ app: a, owner: ownerOf(a), docker: { gc: true } });
      await waitPoolSize(fresh.admin, 'stable', 2);
      const res = await fetch(fresh.url, { signal: AbortSignal.timeout(5_000) });
      expect(res.headers.get('x-app-version')).toBe('2');
      await res.arrayBuffer();
      const prune = await adminCall(fresh.admin, 'POST', '/v1/prune', { dryRun: true });
      expect(prune.body.containers).toEqual([]);
      expect((await containersOf(a)).map((c) => c.state)).toEqual(['running', 'running']);
    },
  );

  it(
    'an erroring image is rolled back and its containers (AutoRemove) are removed without a 409',
    { timeout: 120_000 },
    async () => {
      const a = app('bad');
      const stable = await startStable(a, 1, { hostConfig: { AutoRemove: true } });
      const v = await veer(a, { steps: [50, 100], stepInterval: '5s' });
      await waitPoolSize(v.admin, 'stable', 1);
      const traffic = startTraffic({ url: v.url, rps: 100, maxMs: 90_000, upstreamHeader: 'x-app-version' });
      const started = await adminCall(v.admin, 'POST', '/v1/services/web/rollouts', {
        canary: { image: 'veer-test-app:2', env: ['ERROR_RATE=0.6'] },
      });
      expect(started.status).toBe(201);
      const done = await waitPhase(v.admin, ['succeeded', 'rolled-back', 'aborted'], 80_000);
      await traffic.stop();
      expect(done.phase).toBe('rolled-back');
      const events = await adminCall(v.admin, 'GET', '/v1/services/web/events?limit=200');
      const texts = JSON.stringify(events.body);
      expect(texts).not.toContain('could not remove');
      const left = await containersOf(a);
      expect(left.map((c) => c.id)).toEqual([stable[0]?.id]);
      // Stable still serves, alone.
      const res = await fetch(`${v.url}/`, { signal: AbortSignal.timeout(5_000) });
      expect(res.headers.get('x-app-version')).toBe('1');
      await res.arrayBuffer();
    },
  );

  it(
    'an image whose HEALTHCHECK never passes is rolled back within healthTimeout, naming the container',
    { timeout: 120_000 },
    async () => {
      const a = app('unhealthy');
      const stable = await startStable(a, 1);
      // The image's check is unhealthy after two failures a second apart, each a node process in the container:
      // seconds on a loaded host. The bound is well above that, so the reason below is Docker's verdict, which
      // also shows the wait ended before the bound (at the bound the reason would be "not healthy within").
      const v = await veer(a, { healthTimeout: '40s' });
      await waitPoolSize(v.admin, 'stable', 1);
      const t0 = Date.now();
      const started = await adminCall(v.admin, 'POST', '/v1/services/web/rollouts', {
        canary: { image: 'veer-test-app:health', env: ['HEALTHY=0'] },
      });
      expect(started.status).toBe(201);
      const done = await waitPhase(v.admin, ['rolled-back', 'succeeded', 'aborted'], 60_000);
      expect(Date.now() - t0).toBeLessThan(40_000 + 5_000);
      expect(done.phase).toBe('rolled-back');
      expect(done.reason).toMatch(/canary container web-[0-9a-f]{8}-1 \(local\) is unhealthy/);
      expect(done.weight).toBe(0);
      expect((await containersOf(a)).map((c) => c.id)).toEqual([stable[0]?.id]);
    },
  );

  it(
    'without a HEALTHCHECK the HTTP probe gates: a canary that never answers times out, one that exits is named ' +
      'with its output',
    { timeout: 120_000 },
    async () => {
      const a = app('probe');
      const stable = await startStable(a, 1);
      const v = await veer(a, { healthTimeout: '4s' });
      await waitPoolSize(v.admin, 'stable', 1);
      // Listens on another port than the pool's 8080: the probe never gets an answer.
      const deaf = await adminCall(v.admin, 'POST', '/v1/services/web/rollouts', {
        canary: { image: 'veer-test-app:2', env: ['PORT=9999'] },
      });
      expect(deaf.status).toBe(201);
      const timedOut = await waitPhase(v.admin, ['rolled-back', 'succeeded', 'aborted'], 30_000);
      expect(timedOut.phase).toBe('rolled-back');
      expect(timedOut.reason).toMatch(
        /canary container web-[0-9a-f]{8}-1 \(local\) was not healthy within 4s: GET \/ failed/,
      );
      // An invalid port makes node throw at listen: the container exits as soon as node starts. On a loaded host
      // that start alone took over 4 s (CI), so this rollout's own bound is long: the gate ends at the exit, and
      // a container still running at the bound would fail here as "not healthy within 60s", not as its exit.
      const crash = await adminCall(v.admin, 'POST', '/v1/services/web/rollouts', {
        canary: { image: 'veer-test-app:2', env: ['PORT=99999'] },
        rollout: { healthTimeout: '60s' },
      });
      expect(crash.status).toBe(201);
      // The status shows the newest rollout (201 answered after it was stored), so this waits for the second.
      const exited = await waitPhase(v.admin, ['rolled-back', 'succeeded', 'aborted'], 70_000);
      expect(exited.id).toBe(crash.body.id);
      expect(exited.reason).toMatch(/exited with code 1.*last output:.*(ERR_SOCKET_BAD_PORT|RangeError)/s);
      expect((await containersOf(a)).map((c) => c.id)).toEqual([stable[0]?.id]);
    },
  );

  it(
    "a pull that hangs (a registry on loopback that never answers) ends at healthTimeout, not at the engine's leisure",
    { timeout: 60_000 },
    async () => {
      const a = app('hang');
      await startStable(a, 1);
      const sockets = new Set<Socket>();
      const silent = createServer((sock) => {
        sockets.add(sock);
        sock.on('error', () => undefined);
      });
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      try {
        const v = await veer(a, { healthTimeout: '4s' });
        await waitPoolSize(v.admin, 'stable', 1);
        const port = (silent.address() as AddressInfo).port;
        const t0 = Date.now();
        const r = await adminCall(v.admin, 'POST', '/v1/services/web/rollouts', {
          canary: { image: `127.0.0.1:${port}/never:1` },
        });
        expect(r.status).toBe(201);
        const done = await waitPhase(v.admin, ['rolled-back', 'succeeded', 'aborted'], 30_000);
        expect(done.phase).toBe('rolled-back');
        expect(done.reason).toMatch(
          new RegExp(`timed out after \\d+ ms getting image 127\\.0\\.0\\.1:${port}/never:1`),
        );
        expect(Date.now() - t0).toBeLessThan(4_000 + 4_000);
      } finally {
        for (const sock of sockets) sock.destroy();
        silent.close();
      }
    },
  );

  it(
    'refuses what it cannot do, by field: static targets for a Docker pool, a missing image, no stable container',
    { timeout: 60_000 },
    async () => {
      const a = app('refuse');
      const v = await veer(a, { healthTimeout: '10s' });
      const targets = await adminCall(v.admin, 'POST', '/v1/services/web/rollouts', {
        canary: { targets: ['127.0.0.1:1'] },
      });
      expect(targets.status).toBe(400);
      expect(targets.body.error.message).toContain('canary.targets');
      const none = await adminCall(v.admin, 'POST', '/v1/services/web/rollouts', {
        canary: { image: 'veer-test-app:2' },
      });
      expect(none.status).toBe(400);
      expect(none.body.error.message).toContain('no running stable container');
      await startStable(a, 1);
      await waitPoolSize(v.admin, 'stable', 1);
      const missing = await adminCall(v.admin, 'POST', '/v1/services/web/rollouts', {
        canary: { image: '127.0.0.1:1/veer-missing:1' },
      });
      expect(missing.status).toBe(201);
      const done = await waitPhase(v.admin, ['rolled-back', 'succeeded', 'aborted'], 40_000);
      expect(done.phase).toBe('rolled-back');
      expect(done.reason).toContain('127.0.0.1:1/veer-missing:1');
    },
  );
});
