// Graceful shutdown: in-flight requests finish, new connections are refused, the bound cuts what
// is too slow; and the same through a real process receiving SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { http, service, useHarness, waitFor } from '../../helpers/veer.js';

const h = useHarness();
const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

const settle = <T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: Error }> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: Error) => ({ ok: false as const, error }),
  );

describe('graceful shutdown in process', () => {
  it('lets an in-flight request finish, refuses new connections, and closes idle keep-alive ones', async () => {
    const up = await h.upstream('slow', { delayMs: 500 });
    const v = await h.veer({ services: [service('web', [up.address])], proxy: { timeouts: { shutdown: '5s' } } });

    const idle = createConnection({ host: '127.0.0.1', port: v.port });
    idle.on('error', () => undefined);
    const idleClosed = new Promise<void>((r) => idle.on('close', () => r()));
    let idleData = '';
    idle.on('data', (c: Buffer) => (idleData += c.toString()));
    up.behave({ delayMs: 0 });
    idle.write('GET /warm HTTP/1.1\r\nHost: t\r\n\r\n');
    await waitFor(() => idleData.includes('slow'), 'the keep-alive response', 3_000);
    up.behave({ delayMs: 500 });

    const inflight = http(`${v.url}/slow`);
    await waitFor(() => up.hits === 2, 'the slow request to reach the upstream', 3_000);
    const started = Date.now();
    const closing = v.close();
    const refused = await settle(http(`${v.url}/new`, { timeoutMs: 2_000 }));
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect((refused.error as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');

    const r = await inflight;
    expect(r.status).toBe(200);
    expect(r.text).toBe('slow');
    await closing;
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(3_000); // far below the 5 s bound: close waited for the request only
    await Promise.race([
      idleClosed,
      new Promise((_, rej) => setTimeout(() => rej(new Error('idle keep-alive connection not closed')), 2_000)),
    ]);
    expect(up.hits).toBe(2);
  });

  it.each(['node', 'lean'] as const)(
    'tells a keep-alive client whose answer is in flight at shutdown to go (Connection: close), front %s',
    async (front) => {
      const up = await h.upstream('slow', { delayMs: 400 });
      const v = await h.veer({ services: [service('web', [up.address])], proxy: { front } });
      const busy = createConnection({ host: '127.0.0.1', port: v.port });
      busy.on('error', () => undefined);
      let got = '';
      busy.on('data', (c: Buffer) => (got += c.toString('latin1')));
      const closed = new Promise<void>((r) => busy.on('close', () => r()));
      busy.write('GET /slow HTTP/1.1\r\nHost: t\r\n\r\n');
      await waitFor(() => up.hits === 1, 'the request to reach the upstream', 3_000);
      await v.close();
      await closed;
      const head = got.split('\r\n\r\n')[0] ?? '';
      expect(head).toMatch(/^HTTP\/1\.1 200/);
      expect(head.toLowerCase()).toContain('\r\nconnection: close');
      expect(head.toLowerCase()).not.toContain('keep-alive');
    },
  );

  it('cuts a request that outlives timeouts.shutdown and resolves close() within the bound', async () => {
    const up = await h.upstream('stuck', { delayMs: 10_000 });
    const v = await h.veer({ services: [service('web', [up.address])], proxy: { timeouts: { shutdown: '300ms' } } });
    const inflight = settle(http(`${v.url}/stuck`, { timeoutMs: 8_000 }));
    await waitFor(() => up.hits === 1, 'the request to reach the upstream', 3_000);
    const started = Date.now();
    await v.close();
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2_000);
    const r = await inflight;
    // Cut: either the connection dropped or an incomplete/5xx answer, never a 200.
    if (r.ok) expect(r.value.status).not.toBe(200);
    else expect((r.error as NodeJS.ErrnoException).code).toMatch(/ECONNRESET|socket hang up/i);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(v.plane.inFlight).toBe(0);
  });

  it('ends upgraded connections when the drain ends', async () => {
    const up = await h.server(
      (_req, res) => res.end(),
      (_req, socket) => {
        socket.on('error', () => socket.destroy());
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
        socket.pipe(socket);
      },
    );
    const v = await h.veer({ services: [service('web', [up.address])], proxy: { timeouts: { shutdown: '200ms' } } });
    const sock = createConnection({ host: '127.0.0.1', port: v.port });
    sock.on('error', () => undefined);
    let data = '';
    sock.on('data', (c: Buffer) => (data += c.toString()));
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    sock.write('GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    await waitFor(() => data.includes('101'), 'the upgrade', 3_000);
    const started = Date.now();
    await v.close();
    await Promise.race([
      closed,
      new Promise((_, rej) => setTimeout(() => rej(new Error('upgraded socket left open')), 2_000)),
    ]);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('graceful shutdown of a real process', () => {
  it('finishes the in-flight request on SIGTERM and exits 0', async () => {
    const up = await h.upstream('slow', { delayMs: 500 });
    const dir = await mkdtemp(join(tmpdir(), 'veer-shutdown-'));
    h.defer(() => rm(dir, { recursive: true, force: true }));
    const configPath = join(dir, 'veer.yaml');
    await writeFile(
      configPath,
      [
        'listen: 127.0.0.1:0',
        'admin: { listen: 127.0.0.1:0 }',
        'state: { store: memory }',
        'proxy: { timeouts: { shutdown: 5s } }',
        'services:',
        '  - name: web',
        `    stable: { targets: ["${up.address}"] }`,
      ].join('\n'),
    );
    const child = spawnVeer(dir, configPath);
    h.defer(() => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
        process.kill(child.pid, 'SIGKILL');
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout?.resume();
    await waitFor(() => /"msg":"veer started"/.test(stderr) || child.exitCode !== null, 'veer to start', 15_000, 25);
    const m = /"listen":"127\.0\.0\.1:(\d+)"/.exec(stderr);
    expect(m, stderr).not.toBeNull();
    const url = `http://127.0.0.1:${m?.[1]}`;

    const inflight = http(`${url}/slow`, { timeoutMs: 8_000 });
    await waitFor(() => up.hits === 1, 'the request to reach the upstream', 3_000);
    child.kill('SIGTERM');
    const r = await inflight;
    expect(r.status).toBe(200);
    expect(r.text).toBe('slow');
    const code = await Promise.race([exited, new Promise<'hung'>((res) => setTimeout(() => res('hung'), 8_000))]);
    expect(code, stderr).toBe(0);
  });
});

/** The CLI entry when it exists, else a minimal stand-in that does what `veer start` does. */
function spawnVeer(dir: string, configPath: string): ChildProcess {
  const cli = join(ROOT, 'src', 'cli.ts');
  const script = existsSync(cli) ? cli : writeStandIn(dir);
  return spawn(process.execPath, ['--import', 'tsx', script, 'start', '-c', configPath], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, VEER_ADMIN_TOKEN: '' },
  });
}

function writeStandIn(dir: string): string {
  const path = join(dir, 'standin.ts');
  const src = (p: string): string => pathToFileURL(join(ROOT, 'src', p)).href;
  const text = `
import { loadConfigFile } from '${src('config/load.ts')}';
import { startVeer } from '${src('main.ts')}';
const loaded = await loadConfigFile(process.argv[process.argv.indexOf('-c') + 1] ?? '');
if (!loaded.ok) { console.error(loaded.error.message); process.exit(2); }
const running = await startVeer(loaded.value);
process.once('SIGTERM', () => { running.close().then(() => process.exit(0), () => process.exit(1)); });
`;
  writeFileSync(path, text);
  return path;
}
