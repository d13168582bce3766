// The redis and process helpers other integration tests stand on: a real redis-server per file
// that can be crashed and restarted, and tracked children that afterAll kills by pid.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, isAlive, killTracked, spawnTracked, trackedPids, waitFor } from '../helpers/process.js';
import { ping, startRedis, type RedisHandle } from '../helpers/redis.js';

const handles: RedisHandle[] = [];
const clients: Redis[] = [];

function client(url: string): Redis {
  // No offline queue and no retries: a command against a dead server must fail fast, not hang.
  const c = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 1_000,
    lazyConnect: true,
    retryStrategy: () => null,
  });
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await Promise.allSettled(handles.map((h) => h.stop()));
  await killTracked();
});

describe('startRedis', () => {
  it('serves PING and SET/GET through ioredis on its own loopback port', async () => {
    const r = await startRedis();
    handles.push(r);
    expect(r.url).toBe(`redis://127.0.0.1:${r.port}`);
    const c = client(r.url);
    await c.connect();
    expect(await c.ping()).toBe('PONG');
    await c.set('k', 'v');
    expect(await c.get('k')).toBe('v');
  });

  it('kill9 crashes the server, restart brings an empty one back on the same port', async () => {
    const r = await startRedis();
    handles.push(r);
    const firstPid = r.pid;
    const c1 = client(r.url);
    await c1.connect();
    await c1.set('k', 'before-crash');

    await r.kill9();
    expect(isAlive(firstPid)).toBe(false);
    expect(await ping(r.port, 500)).toBe(false);
    await expect(c1.get('k')).rejects.toThrow();

    await r.restart();
    expect(r.pid).not.toBe(firstPid);
    expect(isAlive(r.pid)).toBe(true);
    const c2 = client(r.url);
    await c2.connect();
    // --save "" and --appendonly no: a restarted server starts empty.
    expect(await c2.get('k')).toBeNull();
  });

  it('stop ends the process, so its pid is gone and nothing answers on the port', async () => {
    const r = await startRedis();
    const pid = r.pid;
    expect(isAlive(pid)).toBe(true);
    await r.stop();
    expect(isAlive(pid)).toBe(false);
    expect(trackedPids()).not.toContain(pid);
    expect(await ping(r.port, 500)).toBe(false);
  });

  it('two instances get different ports and do not share data', async () => {
    const [a, b] = await Promise.all([startRedis(), startRedis()]);
    handles.push(a, b);
    expect(a.port).not.toBe(b.port);
    const ca = client(a.url);
    const cb = client(b.url);
    await Promise.all([ca.connect(), cb.connect()]);
    await ca.set('only-in-a', '1');
    expect(await cb.get('only-in-a')).toBeNull();
  });
});

describe('process helpers', () => {
  it('killTracked kills exactly the tracked children', async () => {
    const tracked = spawnTracked(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    const pid = tracked.pid as number;
    expect(trackedPids()).toContain(pid);
    await killTracked();
    expect(isAlive(pid)).toBe(false);
    expect(trackedPids()).not.toContain(pid);
  });

  it('waitFor returns the first truthy value and times out with the condition named', async () => {
    let n = 0;
    expect(await waitFor(() => (++n >= 3 ? n : 0), { timeoutMs: 2_000, intervalMs: 10 })).toBe(3);
    const started = Date.now();
    await expect(waitFor(() => false, { timeoutMs: 200, intervalMs: 20, what: 'never' })).rejects.toThrow(/never/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('freePort returns a port that can be bound on 127.0.0.1', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const net = await import('node:net');
    const srv = net.createServer();
    await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(port, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  });
});
