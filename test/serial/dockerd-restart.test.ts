// The Docker engine under a running veer: first it stops answering, then it restarts. An engine that
// does not answer never empties a pool: while dockerd is frozen (SIGSTOP: its API hangs, its
// containers and port proxies keep running) veer finds out at its next re-list, keeps the target it
// last listed, routed and reported stale (status and veer_target_stale), and requests keep
// succeeding. Then dockerd shuts down (it stops its containers first: no live-restore here) and
// starts again: veer reconnects by itself, re-lists, and reconciles membership with what the engine
// says - the container at its new host port (a restarted container gets a fresh random one), no
// longer stale. This stops and restarts the engine, so it runs alone (test/serial, VEER_SERIAL=1)
// and only when the engine is one scripts/docker-up.sh started.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { docker, dockerStatus } from '../helpers/docker.js';
import {
  adminCall,
  removeApp,
  startDockerVeer,
  startStable,
  uniqueApp,
  waitPoolSize,
  type DockerVeer,
} from '../helpers/docker-veer.js';
import { isAlive, waitFor } from '../helpers/process.js';
import { startTraffic } from '../helpers/traffic.js';

const run = promisify(execFile);
const STARTED = '/tmp/veer-dockerd.started';
const PIDFILE = '/var/run/docker.pid';

function ourEngine(): number | null {
  try {
    const ours = Number(fs.readFileSync(STARTED, 'utf8').trim());
    const running = Number(fs.readFileSync(PIDFILE, 'utf8').trim());
    return ours > 0 && ours === running && isAlive(ours) ? ours : null;
  } catch {
    return null;
  }
}

const status = await dockerStatus();
const pid = status.ok ? ourEngine() : null;
const required = process.env.VEER_REQUIRE_DOCKER === '1';
if (pid === null)
  console.warn(
    `[dockerd-restart.test] ${required ? 'FAILING' : 'skipping'}: ` +
      (status.ok ? 'the engine was not started by scripts/docker-up.sh' : status.reason),
  );
const suite = pid !== null || required ? describe : describe.skip;

/** The stable pool's targets as status reports them, and veer_target_stale of each. */
async function stableTargets(admin: string): Promise<Array<{ id: string; stale: boolean; gauge: number | null }>> {
  const r = await adminCall(admin, 'GET', '/v1/services/web');
  const metrics = await (await fetch(`${admin}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  return (r.body.pools.stable.targets as Array<{ id: string; stale: boolean }>).map((t) => {
    const line = metrics
      .split('\n')
      .find((l) => l.startsWith('veer_target_stale{') && l.includes('pool="stable"') && l.includes(`"${t.id}"`));
    return { id: t.id, stale: t.stale, gauge: line === undefined ? null : Number(line.split(' ').pop()) };
  });
}

const app = uniqueApp('restart-engine');
let veer: DockerVeer | null = null;
afterAll(async () => {
  await veer?.close();
  if (pid === null) return;
  // Whatever happened above, the engine answers again for the tests after this one (and the cleanup).
  await run('bash', ['scripts/docker-up.sh'], { timeout: 120_000 });
  await removeApp(app);
}, 180_000);

/** Waits until the stable pool is one target with this staleness in status and in /metrics. */
async function waitStable(admin: string, stale: boolean, timeoutMs: number): Promise<string> {
  const t = await waitFor(
    async () => {
      const t = await stableTargets(admin);
      return t.length === 1 && t[0]?.stale === stale && t[0].gauge === (stale ? 1 : 0) ? t[0] : null;
    },
    { timeoutMs, intervalMs: 200, what: `the stable target to be reported ${stale ? '' : 'not '}stale` },
  );
  return t.id;
}

suite('the Docker engine stops answering, then restarts, under a running veer', () => {
  it(
    'pool membership is kept, stale, while the engine does not answer, and reconciled after its restart',
    { timeout: 240_000 },
    async () => {
      expect(pid, 'an engine started by scripts/docker-up.sh').not.toBeNull();
      const engine = pid as number;
      const [stable] = await startStable(app, 1, { hostConfig: { RestartPolicy: { Name: 'always' } } });
      veer = await startDockerVeer({ app, owner: `t-engine-${process.pid}` });
      const before = await waitPoolSize(veer.admin, 'stable', 1);
      const traffic = startTraffic({ url: veer.url, rps: 20, maxMs: 120_000 });
      let frozen = false;
      try {
        await waitFor(() => traffic.snapshot().ok >= 10, { timeoutMs: 10_000, what: 'traffic flowing' });
        process.kill(engine, 'SIGSTOP');
        frozen = true;
        // Noticed at the next periodic re-list (every 30 s), which then times out (15 s).
        expect(await waitStable(veer.admin, true, 60_000)).toBe(before[0]);
        const mark = traffic.snapshot().ok;
        await waitFor(() => traffic.snapshot().ok >= mark + 40, {
          timeoutMs: 15_000,
          what: 'requests served while the engine is frozen and the target stale',
        });
      } finally {
        await traffic.stop();
        // A stopped process keeps SIGTERM pending until SIGCONT: the engine resumes and shuts down.
        if (frozen) {
          process.kill(engine, 'SIGTERM');
          process.kill(engine, 'SIGCONT');
        }
      }
      const report = await traffic.done;
      expect({ failures: report.failures, log: report.failureLog.slice(0, 5) }).toEqual({ failures: 0, log: [] });

      await waitFor(() => !isAlive(engine), { timeoutMs: 60_000, intervalMs: 200, what: `dockerd ${engine} to exit` });
      await run('bash', ['scripts/docker-up.sh'], { timeout: 120_000 });
      // Reconciled with the engine's listing once it answers: the container at its new address, not stale.
      const after = await waitStable(veer.admin, false, 60_000);
      const info = await docker().getContainer(stable!.id).inspect();
      expect(after).toBe(`127.0.0.1:${info.NetworkSettings.Ports['8080/tcp']?.[0]?.HostPort}`);
      const res = await waitFor(
        async () => {
          const r = await fetch(veer!.url, { signal: AbortSignal.timeout(2_000) });
          await r.arrayBuffer();
          return r.status === 200 ? r : null;
        },
        { timeoutMs: 20_000, intervalMs: 200, what: 'a request through veer to succeed again' },
      );
      expect(res.headers.get('x-app-version')).toBe('1');
      // Reported for the log: the container usually comes back on another host port.
      console.log(`[dockerd-restart.test] stable target ${before[0]} → ${after}`);
    },
  );
});
