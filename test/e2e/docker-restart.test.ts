// Interrupting veer mid-rollout: `veer start` runs as its own process with the file store; SIGTERM
// must persist and exit cleanly, and the next start must finish (onRestart: resume) or roll back
// (onRestart: rollback) the rollout, leaving exactly one generation of containers and no extras.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { dockerSuite } from '../helpers/docker.js';
import {
  adminCall,
  containersOf,
  dockerConfigObject,
  removeApp,
  startStable,
  uniqueApp,
  waitPhase,
  waitPoolSize,
} from '../helpers/docker-veer.js';
import { exited, freePort, killTracked, spawnTracked, waitFor, withTimeout } from '../helpers/process.js';
import { startTraffic } from '../helpers/traffic.js';
import { CLI_ENTRY } from '../helpers/cli-entry.js';

const suite = await dockerSuite('docker-restart.test');

const CLI = CLI_ENTRY;
const apps: string[] = [];
const dirs: string[] = [];

afterEach(() => killTracked());
afterAll(async () => {
  for (const a of apps) await removeApp(a);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

interface Veer {
  child: ChildProcess;
  admin: string;
  url: string;
  output(): string;
}

async function writeConfig(
  app: string,
  rollout: Record<string, unknown>,
): Promise<{ file: string; ports: { data: number; admin: number } }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'veer-restart-'));
  dirs.push(dir);
  const ports = { data: await freePort(), admin: await freePort() };
  const cfg = dockerConfigObject(
    { app, owner: `t-${app}`, rollout, state: { store: 'file', path: path.join(dir, 'state.json') } },
    ports,
  );
  const file = path.join(dir, 'proxy.config.yaml');
  fs.writeFileSync(file, stringify(cfg));
  return { file, ports };
}

async function startVeerProcess(file: string, ports: { data: number; admin: number }): Promise<Veer> {
  const child = spawnTracked('node', [...CLI, 'start', '-c', file], { cwd: process.cwd() });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const admin = `http://127.0.0.1:${ports.admin}`;
  await waitFor(async () => (await fetch(`${admin}/readyz`, { signal: AbortSignal.timeout(1_000) })).ok, {
    timeoutMs: 30_000,
    intervalMs: 200,
    what: `veer at ${admin} (output: ${out.slice(-500)})`,
  });
  return { child, admin, url: `http://127.0.0.1:${ports.data}`, output: () => out };
}

async function sigterm(v: Veer): Promise<number | null> {
  v.child.kill('SIGTERM');
  await withTimeout(exited(v.child), 45_000, 'veer to exit after SIGTERM');
  return v.child.exitCode;
}

suite('SIGTERM mid-rollout, then a restart', () => {
  it(
    'onRestart: resume - the rollout goes on from where it was and ends with only the new generation',
    { timeout: 150_000 },
    async () => {
      const a = uniqueApp('resume');
      apps.push(a);
      const stable = await startStable(a, 2);
      const { file, ports } = await writeConfig(a, { steps: [50, 100], stepInterval: '3s', onRestart: 'resume' });
      let v = await startVeerProcess(file, ports);
      await waitPoolSize(v.admin, 'stable', 2);
      const traffic = startTraffic({ url: v.url, rps: 60, maxMs: 120_000, upstreamHeader: 'x-app-version' });
      const started = await adminCall(v.admin, 'POST', '/v1/services/web/rollouts', {
        canary: { image: 'veer-test-app:2' },
      });
      expect(started.status).toBe(201);
      const mid = await waitPhase(v.admin, ['progressing'], 30_000);
      expect(await sigterm(v)).toBe(0);
      v = await startVeerProcess(file, ports);
      const done = await waitPhase(v.admin, ['succeeded', 'rolled-back', 'aborted'], 90_000);
      await traffic.stop();
      expect(done.id).toBe(mid.id);
      expect(done.phase, done.reason).toBe('succeeded');
      const left = await containersOf(a);
      expect(left.filter((c) => stable.some((s) => s.id === c.id))).toEqual([]);
      expect(left.map((c) => [c.rollout, c.state])).toEqual([
        [mid.id, 'running'],
        [mid.id, 'running'],
      ]);
      expect(await sigterm(v)).toBe(0);
    },
  );

  it(
    'onRestart: rollback - interrupted while the canary is being created, the next start removes it',
    { timeout: 150_000 },
    async () => {
      const a = uniqueApp('rollback');
      apps.push(a);
      const stable = await startStable(a, 2);
      const { file, ports } = await writeConfig(a, { onRestart: 'rollback', healthTimeout: '30s' });
      let v = await startVeerProcess(file, ports);
      await waitPoolSize(v.admin, 'stable', 2);
      // The health image needs a few seconds before Docker calls it healthy: SIGTERM lands in `starting`.
      const started = await adminCall(v.admin, 'POST', '/v1/services/web/rollouts', {
        canary: { image: 'veer-test-app:health' },
      });
      expect(started.status).toBe(201);
      await waitFor(async () => (await containersOf(a)).some((c) => c.rollout === started.body.id), {
        timeoutMs: 20_000,
        intervalMs: 100,
        what: 'a canary container to exist',
      });
      const phase = (await adminCall(v.admin, 'GET', '/v1/services/web')).body.rollout.phase;
      expect(await sigterm(v)).toBe(0);
      v = await startVeerProcess(file, ports);
      const done = await waitPhase(v.admin, ['succeeded', 'rolled-back', 'aborted'], 60_000);
      expect(done.id).toBe(started.body.id);
      expect(done.phase).toBe('rolled-back');
      expect(done.reason).toContain(`veer restarted during the rollout (onRestart: rollback; it was ${phase}`);
      const left = await waitFor(
        async () => {
          const l = await containersOf(a);
          return l.length === 2 ? l : null;
        },
        { timeoutMs: 20_000, intervalMs: 200, what: 'only the stable containers to remain' },
      );
      expect(left.map((c) => c.id).sort()).toEqual(stable.map((s) => s.id).sort());
      expect(await sigterm(v)).toBe(0);
    },
  );
});
