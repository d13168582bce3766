// veer's own Dockerfile, end to end: build it on the registry-less base (veer-node-base:20), run it
// with host networking and a mounted config, and check what an operator relies on: the admin
// /healthz answers, Docker's HEALTHCHECK turns `healthy`, the data plane forwards, and it runs as
// a non-root uid. A second veer container gets the Docker socket and drives a Docker pool through an
// image rollout, since a uid-10001 process reaching the socket and the host's loopback-published
// ports is exactly what a source checkout's tests never exercise. Skipped only when no Docker engine
// answers (scripts/test.sh always starts one and sets VEER_REQUIRE_DOCKER=1, which turns a missing
// engine into a failure instead).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorMessage } from '../../src/domain/errors.js';
import { docker, dockerStatus, removeContainer, runTestApp, TEST_LABEL, type TestApp } from '../helpers/docker.js';
import {
  adminCall,
  containersOf,
  removeApp,
  startStable,
  uniqueApp,
  waitPhase,
  waitPoolSize,
} from '../helpers/docker-veer.js';
import { freePort, waitFor } from '../helpers/process.js';
import { startTraffic } from '../helpers/traffic.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const IMAGE = 'veer:e2e';
const status = await dockerStatus();
const required = process.env.VEER_REQUIRE_DOCKER === '1';
if (!status.ok) console.warn(`[image.test] ${required ? 'FAILING' : 'skipping'}: ${status.reason}`);

async function sh(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, {
      cwd: ROOT,
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
      // No buildx plugin on these machines: the classic builder handles our Dockerfile fine.
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
    });
    return stdout;
  } catch (e) {
    const out = e as { stdout?: string; stderr?: string; message: string };
    const tail = `${out.stdout ?? ''}\n${out.stderr ?? ''}`.split('\n').slice(-40).join('\n');
    throw new Error(`${cmd} ${args.slice(0, 2).join(' ')} failed: ${out.message}\n${tail}`);
  }
}

async function npmRegistry(): Promise<string> {
  if (process.env.VEER_NPM_REGISTRY) return process.env.VEER_NPM_REGISTRY;
  return (await sh('npm', ['config', 'get', 'registry'], 30_000)).trim();
}

let built: Promise<void> | undefined;
/** Builds once per file run: both suites use the same image. */
const buildImage = (): Promise<void> => (built ??= buildImageNow());

async function buildImageNow(): Promise<void> {
  // Idempotent and quick when the base is current; makes this file runnable on its own.
  await sh('bash', ['scripts/build-test-images.sh'], 300_000);
  const registry = await npmRegistry();
  // --network host: `npm ci` reaches the registry the way the host does, even if the engine runs
  // without bridge NAT (scripts/docker-up.sh may fall back to --iptables=false).
  await sh(
    'docker',
    [
      'build',
      '-q',
      '--force-rm',
      '--network',
      'host',
      '--build-arg',
      'NODE_IMAGE=veer-node-base:20',
      '--build-arg',
      `npm_config_registry=${registry}`,
      '--label',
      'veer.test=1',
      '-t',
      IMAGE,
      '.',
    ],
    600_000,
  );
}

function configYaml(dataPort: number, adminPort: number, upstream: string): string {
  return [
    `listen: 127.0.0.1:${dataPort}`,
    `admin: { listen: 127.0.0.1:${adminPort} }`,
    'state: { store: memory }',
    // No Docker socket is mounted and no `docker:` section is needed: with only static targets veer
    // never contacts an engine (an empty endpoint list is a config error since Docker pools exist).
    'services:',
    '  - name: web',
    '    match: { hosts: ["*"], pathPrefix: / }',
    `    stable: { targets: ["${upstream}"] }`,
    '',
  ].join('\n');
}

async function logsOf(id: string): Promise<string> {
  try {
    const { stdout, stderr } = await run('docker', ['logs', '--tail', '40', id], { timeout: 10_000 });
    return `${stdout}${stderr}`;
  } catch {
    return '(no logs)';
  }
}

/** Rethrows with the container's last log lines, so a failure says why veer was not up. */
async function withLogsOf<T>(id: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw new Error(`${errorMessage(e)}\n--- veer container logs ---\n${await logsOf(id)}`);
  }
}

describe.skipIf(!status.ok && !required)('veer Docker image', () => {
  let tmp = '';
  let app: TestApp | undefined;
  let containerId = '';
  let adminPort = 0;
  let dataPort = 0;
  const withLogs = <T>(p: Promise<T>): Promise<T> => withLogsOf(containerId, p);

  beforeAll(async () => {
    if (!status.ok) throw new Error(status.reason);
    await buildImage();
    app = await runTestApp({ env: { VERSION: '1' } });
    [adminPort, dataPort] = [await freePort(), await freePort()];
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'veer-image-'));
    const cfg = path.join(tmp, 'proxy.config.yaml');
    fs.writeFileSync(cfg, configYaml(dataPort, adminPort, app.target), { mode: 0o644 });
    const container = await docker().createContainer({
      Image: IMAGE,
      Labels: { ...TEST_LABEL },
      Env: [`VEER_HEALTH_URL=http://127.0.0.1:${adminPort}/healthz`],
      HostConfig: { NetworkMode: 'host', Binds: [`${cfg}:/etc/veer/proxy.config.yaml:ro`] },
    });
    containerId = container.id;
    await container.start();
  }, 900_000);

  afterAll(async () => {
    if (containerId) await removeContainer(containerId);
    await app?.remove();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  it('runs as a non-root numeric user with the documented entrypoint', async () => {
    const info = await docker().getImage(IMAGE).inspect();
    expect(info.Config.User).toBe('10001:10001');
    expect(info.Config.Entrypoint).toEqual(['node', '/app/dist/cli.js', 'start']);
    expect(info.Config.Cmd).toEqual(['-c', '/etc/veer/proxy.config.yaml']);
    expect(info.Config.Labels?.['veer.test']).toBe('1');
  });

  it('answers GET /healthz on the admin listener with 200', async () => {
    const res = await withLogs(
      waitFor(
        async () => {
          const r = await fetch(`http://127.0.0.1:${adminPort}/healthz`, { signal: AbortSignal.timeout(2_000) });
          await r.arrayBuffer();
          return r.status === 200 ? r : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200, what: 'admin /healthz = 200' },
      ),
    );
    expect(res.status).toBe(200);
  }, 40_000);

  it('becomes `healthy` by its own Docker HEALTHCHECK', async () => {
    const health = await withLogs(
      waitFor(
        async () => {
          const s = (await docker().getContainer(containerId).inspect()).State;
          if (!s.Running) throw new Error(`container stopped (exit ${s.ExitCode})`);
          return s.Health?.Status === 'healthy' ? s.Health.Status : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500, what: 'Docker health status = healthy' },
      ),
    );
    expect(health).toBe('healthy');
  }, 70_000);

  it('forwards data-plane traffic to the upstream container', async () => {
    const res = await withLogs(
      waitFor(
        async () => {
          const r = await fetch(`http://127.0.0.1:${dataPort}/hello`, { signal: AbortSignal.timeout(2_000) });
          const body = (await r.json()) as { version?: string; path?: string };
          return r.status === 200 ? { version: r.headers.get('x-app-version'), body } : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200, what: 'data plane to answer 200 from the upstream' },
      ),
    );
    expect(res.version).toBe('1');
    expect(res.body.path).toBe('/hello');
  }, 40_000);
});

const SOCKET = '/var/run/docker.sock';

function dockerPoolYaml(dataPort: number, adminPort: number, app: string, owner: string): string {
  return [
    `listen: 127.0.0.1:${dataPort}`,
    `admin: { listen: 127.0.0.1:${adminPort} }`,
    'state: { store: memory }',
    `docker: { owner: ${owner}, endpoints: [ { name: local, host: "unix://${SOCKET}" } ] }`,
    'services:',
    '  - name: web',
    `    stable: { docker: { selector: { app: ${app} }, port: 8080 } }`,
    '',
  ].join('\n');
}

/** The x-app-version of one request through the data plane (null on a non-200). */
async function versionVia(dataUrl: string): Promise<string | null> {
  const r = await fetch(`${dataUrl}/`, { signal: AbortSignal.timeout(2_000) });
  await r.arrayBuffer();
  return r.status === 200 ? r.headers.get('x-app-version') : null;
}

describe.skipIf(!status.ok && !required)('veer Docker image with Docker pools (socket mounted)', () => {
  const app = uniqueApp('image');
  let tmp = '';
  let veerId = '';
  let admin = '';
  let dataUrl = '';
  const withLogs = <T>(p: Promise<T>): Promise<T> => withLogsOf(veerId, p);

  beforeAll(async () => {
    if (!status.ok) throw new Error(status.reason);
    await buildImage();
    const [adminPort, dataPort] = [await freePort(), await freePort()];
    [admin, dataUrl] = [`http://127.0.0.1:${adminPort}`, `http://127.0.0.1:${dataPort}`];
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'veer-image-docker-'));
    const cfg = path.join(tmp, 'proxy.config.yaml');
    fs.writeFileSync(cfg, dockerPoolYaml(dataPort, adminPort, app, `t-image-${process.pid}`), { mode: 0o644 });
    await startStable(app, 1);
    const container = await docker().createContainer({
      Image: IMAGE,
      Labels: { ...TEST_LABEL },
      Env: [`VEER_HEALTH_URL=${admin}/healthz`],
      HostConfig: {
        // Host networking: the app containers publish on the host's 127.0.0.1, which is only the
        // host's loopback from inside a container that shares the host's network namespace.
        NetworkMode: 'host',
        // The image runs as uid 10001; the socket's group is what lets that uid talk to the engine.
        GroupAdd: [String(fs.statSync(SOCKET).gid)],
        Binds: [`${cfg}:/etc/veer/proxy.config.yaml:ro`, `${SOCKET}:${SOCKET}`],
      },
    });
    veerId = container.id;
    await container.start();
  }, 900_000);

  afterAll(async () => {
    if (veerId) await removeContainer(veerId);
    await removeApp(app);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  it('routes to the stable container it found through the socket', async () => {
    await withLogs(waitPoolSize(admin, 'stable', 1, 30_000));
    const version = await withLogs(
      waitFor(() => versionVia(dataUrl), { timeoutMs: 15_000, intervalMs: 200, what: 'the data plane to answer 200' }),
    );
    expect(version).toBe('1');
  }, 60_000);

  it('rolls the pool out to a new image and removes the old container', async () => {
    const [old] = await containersOf(app);
    expect(old?.image).toBe('veer-test-app:1');
    const traffic = startTraffic({ url: dataUrl, rps: 20, maxMs: 90_000, upstreamHeader: 'x-app-version' });
    const done = await (async () => {
      const started = await adminCall(admin, 'POST', '/v1/services/web/rollouts', {
        canary: { image: 'veer-test-app:2' },
        rollout: { steps: [100], stepInterval: '1s', analysisInterval: '500ms', minRequests: 5 },
      });
      expect(started.status, JSON.stringify(started.body)).toBe(201);
      return withLogs(waitPhase(admin, ['succeeded', 'rolled-back', 'aborted'], 80_000));
    })().finally(() => traffic.stop());
    const report = await traffic.done;
    expect(done.phase, done.reason).toBe('succeeded');
    // The canary was judged on requests the containerised veer proxied, so some reached version 2.
    expect(report.byUpstream['2'] ?? 0).toBeGreaterThan(0);
    const version = await waitFor(() => versionVia(dataUrl), {
      timeoutMs: 10_000,
      intervalMs: 200,
      what: 'the data plane to answer 200',
    });
    expect(version).toBe('2');
    const after = await containersOf(app);
    expect(after.map((c) => c.id)).not.toContain(old?.id);
    expect(after.map((c) => [c.image, c.state])).toEqual([['veer-test-app:2', 'running']]);
  }, 120_000);
});
