// The Docker event stream ends when the engine restarts. veer must notice (the engine's targets
// leave the pool), reconnect by itself, re-list, and route to the container again - at its new
// host port, since a restarted container gets a fresh random one. This restarts the engine, so it
// runs alone (test/serial, VEER_SERIAL=1) and only when the engine is one scripts/docker-up.sh started.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerStatus } from '../helpers/docker.js';
import {
  removeApp,
  startDockerVeer,
  startStable,
  uniqueApp,
  waitPoolSize,
  type DockerVeer,
} from '../helpers/docker-veer.js';
import { isAlive, waitFor } from '../helpers/process.js';

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

const app = uniqueApp('restart-engine');
let veer: DockerVeer | null = null;
afterAll(async () => {
  await veer?.close();
  await removeApp(app);
});

suite('the Docker engine restarts under a running veer', () => {
  it(
    'pool membership recovers: down while the engine is gone, back at the new address after',
    { timeout: 180_000 },
    async () => {
      expect(pid, 'an engine started by scripts/docker-up.sh').not.toBeNull();
      await startStable(app, 1, { hostConfig: { RestartPolicy: { Name: 'always' } } });
      veer = await startDockerVeer({ app, owner: `t-engine-${process.pid}` });
      const before = await waitPoolSize(veer.admin, 'stable', 1);

      process.kill(pid as number, 'SIGTERM');
      await waitFor(() => !isAlive(pid as number), {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: `dockerd ${pid} to exit`,
      });
      // The stream ended and the engine does not answer: its containers leave the pool.
      await waitPoolSize(veer.admin, 'stable', 0, 20_000);

      await run('bash', ['scripts/docker-up.sh'], { timeout: 120_000 });
      const after = await waitPoolSize(veer.admin, 'stable', 1, 60_000);
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
      console.log(`[dockerd-restart.test] stable target ${before[0]} → ${after[0]}`);
    },
  );
});
