// The CLI against a real running proxy: `veer start` as a child process in front of real upstreams,
// `veer status` / `veer shift` through the admin API, the split measured from real requests, and a
// graceful SIGTERM. The persisted weight survives a restart (file store).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, freePort, killTracked, spawnTracked, waitFor } from '../helpers/process.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { CLI_ENTRY } from '../helpers/cli-entry.js';

const run = promisify(execFile);
const CLI = CLI_ENTRY;

let stable: TestUpstream;
let canary: TestUpstream;
let dir: string;
let dataPort: number;
let adminPort: number;
let configPath: string;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const admin = args[0] === 'validate' ? [] : ['--admin', `http://127.0.0.1:${adminPort}`];
  try {
    const r = await run('node', [...CLI, ...args, ...admin], { timeout: 20_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

function startProxy() {
  const child = spawnTracked('node', [...CLI, 'start', '-c', configPath], { cwd: process.cwd() });
  return child;
}

async function countCanary(n: number): Promise<number> {
  let c = 0;
  for (let i = 0; i < n; i++) {
    const res = await fetch(`http://127.0.0.1:${dataPort}/`);
    if ((await res.text()) === 'canary') c++;
  }
  return c;
}

beforeAll(async () => {
  stable = await startUpstream('stable');
  canary = await startUpstream('canary');
  dir = mkdtempSync(join(tmpdir(), 'veer-e2e-'));
  dataPort = await freePort();
  adminPort = await freePort();
  configPath = join(dir, 'proxy.config.yaml');
  writeFileSync(
    configPath,
    [
      `listen: 127.0.0.1:${dataPort}`,
      'admin:',
      `  listen: 127.0.0.1:${adminPort}`,
      `state: { store: file, path: ${join(dir, 'state.json')} }`,
      'services:',
      '  - name: web',
      `    stable: { targets: ["${stable.address}"] }`,
      `    canary: { targets: ["${canary.address}"] }`,
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await killTracked();
  await stable.close();
  await canary.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('veer CLI against a running proxy', () => {
  it('starts, reports status, shifts traffic, drains on SIGTERM and keeps the weight across a restart', async () => {
    const proxy = startProxy();
    await waitFor(async () => (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).ok, {
      timeoutMs: 20_000,
      what: 'veer readyz',
    });

    expect(await countCanary(50)).toBe(0);

    const shifted = await cli('shift', 'web', '100');
    expect(shifted.code).toBe(0);
    expect(shifted.stdout).toMatch(/100/);
    expect(await countCanary(50)).toBe(50);

    const status = await cli('status', 'web', '--json');
    expect(status.code).toBe(0);
    const body = JSON.parse(status.stdout) as {
      weight: number;
      metrics: { canary: { requests: number }; stable: { requests: number } };
    };
    expect(body.weight).toBe(100);
    expect(body.metrics.canary.requests).toBe(50);
    expect(body.metrics.stable.requests).toBe(50);

    const bad = await cli('shift', 'web', '150');
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/weight/);
    expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack trace

    const unknown = await cli('shift', 'nope', '10');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/nope/);

    // A slow request in flight when SIGTERM arrives still completes.
    canary.behave({ delayMs: 400 });
    const slow = fetch(`http://127.0.0.1:${dataPort}/slow`).then(async (r) => ({
      status: r.status,
      text: await r.text(),
    }));
    await waitFor(() => canary.hits >= 51, { timeoutMs: 5_000, what: 'slow request to reach upstream' });
    proxy.kill('SIGTERM');
    expect(await slow).toEqual({ status: 200, text: 'canary' });
    await exited(proxy);
    expect(proxy.exitCode).toBe(0);
    canary.behave({ delayMs: 0 });

    // Restart: the persisted weight (100) wins over the config's initial weight (0).
    startProxy();
    await waitFor(async () => (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).ok, {
      timeoutMs: 20_000,
      what: 'veer readyz after restart',
    });
    expect(await countCanary(20)).toBe(20);
  }, 90_000); // two starts, four CLI runs and a drain, each bounded: ~10 s idle, past 30 s beside two busy loops

  it('validate reports every problem by path and exits 2', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'services:\n  - name: web\n    rollout: { steps: [5, 200] }\n    weight: 140\n');
    const r = await cli('validate', '-c', bad);
    expect(r.code).toBe(2);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/services\[0\]\.rollout\.steps\[1\]/);
    expect(out).toMatch(/services\[0\]\.weight/);
    expect(out).not.toMatch(/\n\s+at /);
  });
});
