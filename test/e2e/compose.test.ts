// Docker pools as compose users run them (Debian's docker-compose v1): a project whose containers veer
// selects by compose's own labels. After an image rollout is promoted, the documented workflow -
// update `image:` in the file, `docker-compose up -d` - recreates the containers without veer's
// labels; they must become the stable pool, as must the containers of `down` + `up`, and the next
// rollout must clone them. Nothing may require deleting veer's state.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { dockerSuite } from '../helpers/docker.js';
import { adminCall, containersOf, useDockerApps, waitPhase } from '../helpers/docker-veer.js';
import { waitFor } from '../helpers/process.js';
import { between, startTraffic } from '../helpers/traffic.js';

const run = promisify(execFile);
const suite = await dockerSuite('compose.test');
const d = useDockerApps();

/** The compose file of the project: two replicas of the test app, ports on loopback only. */
const composeFile = (app: string, image: string): string =>
  [
    "version: '2.4'",
    'services:',
    '  web:',
    `    image: ${image}`,
    '    scale: 2',
    "    ports: ['127.0.0.1::8080']",
    '    labels:',
    `      app: ${app}`,
    "      veer.test: '1'",
    '',
  ].join('\n');

async function compose(dir: string, project: string, ...args: string[]): Promise<void> {
  await run('docker-compose', ['-p', project, '-f', join(dir, 'docker-compose.yml'), ...args], {
    timeout: 120_000,
    cwd: dir,
  });
}

/** The stable pool's target ids once it has exactly the ports of the project's running containers. */
async function stableIsProject(admin: string, project: string, what: string): Promise<string[]> {
  return waitFor(
    async () => {
      const { stdout } = await run('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=${project}`]);
      const ids = stdout.split('\n').filter(Boolean);
      if (ids.length !== 2) return null;
      const ports = await Promise.all(
        ids.map(async (id) => (await run('docker', ['port', id, '8080/tcp'])).stdout.trim().split('\n')[0] ?? ''),
      );
      const r = await adminCall(admin, 'GET', '/v1/services/web');
      const routed: string[] = r.body.pools.stable.targets.map((t: { id: string }) => t.id).sort();
      return JSON.stringify(routed) === JSON.stringify([...ports].sort()) ? routed : null;
    },
    { timeoutMs: 30_000, intervalMs: 200, what },
  );
}

/** When the project's last running container started (the engine's clock, same machine here). */
async function lastStart(project: string): Promise<number> {
  const { stdout } = await run('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=${project}`]);
  const ids = stdout.split('\n').filter(Boolean);
  const { stdout: times } = await run('docker', ['inspect', '-f', '{{.State.StartedAt}}', ...ids]);
  return Math.max(
    ...times
      .split('\n')
      .filter(Boolean)
      .map((t) => Date.parse(t)),
  );
}

suite('compose projects', () => {
  it(
    'after a promotion, `up -d` with the new image and `down` + `up` are the stable pool; the next rollout clones them',
    { timeout: 240_000 },
    async () => {
      const app = d.app('compose');
      const project = `veer${app.replace(/[^a-z0-9]/g, '')}`;
      const dir = await mkdtemp(join(tmpdir(), 'veer-compose-'));
      try {
        await writeFile(join(dir, 'docker-compose.yml'), composeFile(app, 'veer-test-app:1'));
        await compose(dir, project, 'up', '-d');
        const selector = { 'com.docker.compose.project': project, 'com.docker.compose.service': 'web' };
        const v = await d.veer({
          app,
          owner: `t-${app}`,
          // down + up re-creates the project's network too: a few seconds on a loaded machine.
          service: { stable: { docker: { selector, port: 8080 } }, timeouts: { waitForTarget: '20s' } },
        });
        await stableIsProject(v.admin, project, 'veer to route to the project');
        const trafficStart = Date.now();
        // Clients wait as long as veer holds a request for a target (waitForTarget 20 s), not 5 s: a loaded
        // machine's down + up took 5.5 s once, and the client's own timeout then counted as veer's failure.
        const traffic = startTraffic({
          url: v.url,
          rps: 50,
          maxMs: 200_000,
          upstreamHeader: 'x-app-version',
          timeoutMs: 25_000,
        });
        /** Failures that completed between the last project container's start and `until` (veer's share). */
        const afterStart = async (until: number): Promise<{ ms: number; failures: number; kinds: string[] }> => {
          const started = await lastStart(project);
          const late = traffic
            .snapshot()
            .failureLog.filter((f) => trafficStart + f.at > started && trafficStart + f.at <= until);
          const kinds = late.map((f) => `${trafficStart + f.at - started}ms:${f.status}:${f.error ?? ''}`);
          return { ms: until - started, failures: late.length, kinds };
        };

        const r1 = await adminCall(v.admin, 'POST', '/v1/services/web/rollouts', {
          canary: { image: 'veer-test-app:2' },
        });
        expect(r1.status, JSON.stringify(r1.body)).toBe(201);
        expect((await waitPhase(v.admin, ['succeeded', 'rolled-back'], 90_000)).phase).toBe('succeeded');
        const rolledOut = traffic.snapshot();
        const afterRollout = rolledOut.failures;

        // The README's workflow: the file now names the image that was rolled out.
        await writeFile(join(dir, 'docker-compose.yml'), composeFile(app, 'veer-test-app:2'));
        await compose(dir, project, 'up', '-d');
        const recreatedAt = Date.now();
        await stableIsProject(v.admin, project, 'the recreated containers to be the stable pool');
        const recreatedMs = Date.now() - recreatedAt;
        const recreateShare = await afterStart(Date.now());
        const recreated = traffic.snapshot();
        const afterUp = recreated.failures;

        await compose(dir, project, 'down');
        await compose(dir, project, 'up', '-d');
        const upAt = Date.now();
        await stableIsProject(v.admin, project, 'the containers of down + up to be the stable pool');
        const recoveredMs = Date.now() - upAt;
        const downUpShare = await afterStart(Date.now());
        const downUp = traffic.snapshot();
        const afterDownUp = downUp.failures;
        // What compose's gap cost clients instead of errors: requests that waited for a container.
        const waited = (r: ReturnType<typeof between>): string =>
          `${r.slowLog.length} answers took ≥ 250 ms, the slowest ${Math.max(0, ...r.slowLog.map((x) => x.ms))} ms`;
        const failed = (r: ReturnType<typeof between>): string[] =>
          r.failureLog.map((f) => `${f.status}:${f.error ?? ''}`.slice(0, 120));
        console.info(
          `[compose] recreate: ${waited(between(rolledOut, recreated))}; ` +
            `down + up: ${waited(between(recreated, downUp))}`,
          failed(between(rolledOut, downUp)),
        );

        // The next rollout clones what compose runs now.
        const r2 = await adminCall(v.admin, 'POST', '/v1/services/web/rollouts', {
          canary: { image: 'veer-test-app:1' },
        });
        expect(r2.status, JSON.stringify(r2.body)).toBe(201);
        expect((await waitPhase(v.admin, ['succeeded', 'rolled-back'], 90_000)).phase).toBe('succeeded');
        const report = await traffic.stop();
        console.info(
          `[compose] client failures: rollout ${afterRollout}, ` +
            `up -d recreate ${afterUp - afterRollout} (routed ${recreatedMs} ms after up returned), ` +
            `down + up ${afterDownUp - afterUp} (routed ${recoveredMs} ms after up returned), ` +
            `second rollout ${report.failures - afterDownUp} of ${report.completed}; ` +
            `after compose started the last container: recreate ${JSON.stringify(recreateShare)}, ` +
            `down + up ${JSON.stringify(downUpShare)}`,
        );
        expect(afterRollout).toBe(0);
        // compose stops the old containers before it starts new ones; requests wait for the new ones
        // (timeouts.waitForTarget) instead of failing, so neither workflow costs a client an error.
        expect(recreateShare.failures, 'failures after compose started the last container').toBe(0);
        expect(downUpShare.failures, 'failures after compose started the last container').toBe(0);
        expect(afterUp - afterRollout, 'failures during `up -d`').toBe(0);
        expect(afterDownUp - afterUp, 'failures during `down` + `up -d`').toBe(0);
        expect(report.failures - afterDownUp, 'failures during the second rollout').toBe(0);
        expect(recreatedMs).toBeLessThan(10_000);
        expect(recoveredMs).toBeLessThan(10_000);
        // Each rollout's clones exist only while they are its canary or stable: two of the second run now.
        const left = (await containersOf(app)).filter((c) => c.state === 'running');
        expect(left.filter((c) => c.rollout === r2.body.id)).toHaveLength(2);
      } finally {
        await compose(dir, project, 'down').catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
