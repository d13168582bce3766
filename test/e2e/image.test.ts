// veer's own Dockerfile, end to end: build it on the registry-less base (veer-node-base:20), run it
// with host networking and a mounted config, and check what an operator relies on: the admin
// /healthz answers, Docker's HEALTHCHECK turns `healthy`, the data plane forwards, and it runs as
// a non-root uid. Skipped only when no Docker engine answers (scripts/test.sh always starts one and
// sets VEER_REQUIRE_DOCKER=1, which turns a missing engine into a failure instead).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, dockerStatus, removeContainer, runTestApp, TEST_LABEL, type TestApp } from '../helpers/docker.js';
import { freePort, waitFor } from '../helpers/process.js';

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

async function buildImage(): Promise<void> {
  // Idempotent and quick when the base is current; makes this file runnable on its own.
  await sh('bash', ['scripts/build-test-images.sh'], 300_000);
  const registry = await npmRegistry();
  // --network host: `npm ci` reaches the registry the way the host does, even if the engine runs
  // without bridge NAT (scripts/docker-up.sh may fall back to --iptables=false).
  await sh('docker', ['build', '-q', '--force-rm', '--network', 'host', '--build-arg', 'NODE_IMAGE=veer-node-base:20', '--build-arg', `npm_config_registry=${registry}`,
    '--label', 'veer.test=1', '-t', IMAGE, '.'], 600_000);
}

function configYaml(dataPort: number, adminPort: number, upstream: string): string {
  return [
    `listen: 127.0.0.1:${dataPort}`,
    `admin: { listen: 127.0.0.1:${adminPort} }`,
    'state: { store: memory }',
    // No Docker socket is mounted: this veer only knows static targets.
    'docker: { endpoints: [] }',
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

describe.skipIf(!status.ok && !required)('veer Docker image', () => {
  let tmp = '';
  let app: TestApp | undefined;
  let containerId = '';
  let adminPort = 0;
  let dataPort = 0;

  /** Rethrows with the container's last log lines, so a failure says why veer was not up. */
  async function withLogs<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (e) {
      throw new Error(`${e instanceof Error ? e.message : String(e)}\n--- veer container logs ---\n${await logsOf(containerId)}`);
    }
  }

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

  it("becomes `healthy` by its own Docker HEALTHCHECK", async () => {
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
