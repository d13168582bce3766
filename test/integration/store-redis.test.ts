// RedisStore against a real redis-server of its own: the shared StateStore contract, CAS and fencing
// across instances, the change feed, and behaviour while Redis is down, hung, or back again.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fenceKey, stateKey } from '../../src/store/keys.js';
import { RedisStore } from '../../src/store/redis.js';
import { freePort, killTracked, spawnTracked, stopChild, waitFor } from '../helpers/process.js';
import { ping, startRedis, type RedisHandle } from '../helpers/redis.js';
import { describeStateStoreContract } from '../unit/store/contract.js';

let redis: RedisHandle;
const stores: RedisStore[] = [];
let seq = 0;
const freshPrefix = (): string => `t${process.pid}-${++seq}`;

async function connect(prefix: string, url = redis.url, commandTimeoutMs = 1_000): Promise<RedisStore> {
  const s = await RedisStore.connect(url, { prefix, commandTimeoutMs, connectTimeoutMs: 5_000 });
  stores.push(s);
  return s;
}

beforeAll(async () => {
  redis = await startRedis();
});

afterEach(async () => {
  await Promise.allSettled(stores.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await redis?.stop();
  await killTracked();
});

describeStateStoreContract('redis', async () => ({ store: await connect(freshPrefix()) }));

describe('RedisStore layout and namespacing', () => {
  it('stores each value as a hash {v, d} under the hash-tagged state key of keys.ts', async () => {
    const p = freshPrefix();
    const s = await connect(p);
    await s.put('rollout/web', { phase: 'progressing' });
    await s.put('rollout/web', { phase: 'paused' });
    const raw = s.raw();
    expect(await raw.hgetall(`${p}:{${p}}:state:rollout/web`)).toEqual({ v: '2', d: '{"phase":"paused"}' });
    expect(await raw.hgetall(stateKey(p, 'rollout/web'))).toEqual({ v: '2', d: '{"phase":"paused"}' });
  });

  it('keeps installations apart: another prefix sees none of the keys', async () => {
    const a = await connect(freshPrefix());
    const b = await connect(freshPrefix());
    await a.put('svc/web', 1);
    await a.put('svc/api', 2);
    await b.put('svc/other', 3);
    expect(await a.keys('')).toEqual(['svc/api', 'svc/web']);
    expect(await b.keys('svc/')).toEqual(['svc/other']);
    expect(await b.get('svc/web')).toBeNull();
  });

  it('treats glob characters in a key prefix literally', async () => {
    const s = await connect(freshPrefix());
    for (const k of ['a*b', 'a?c', 'a[x]', 'ab']) await s.put(k, k);
    expect(await s.keys('a*')).toEqual(['a*b']);
    expect(await s.keys('a[')).toEqual(['a[x]']);
    expect(await s.keys('a')).toEqual(['a*b', 'a?c', 'a[x]', 'ab']);
  });

  it('passes a genuine error reply through instead of calling it an outage', async () => {
    const s = await connect(freshPrefix());
    await s.raw().set(stateKey(s.prefix, 'k'), 'not a hash');
    const err = await s.get('k').catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ReplyError' });
    expect((err as Error).message).toMatch(/^WRONGTYPE/);
  });

  it('lists many keys through several SCAN rounds', async () => {
    const s = await connect(freshPrefix());
    const pipeline = s.raw().pipeline();
    for (let i = 0; i < 1_200; i++)
      pipeline.hset(stateKey(s.prefix, `k/${String(i).padStart(4, '0')}`), 'v', '1', 'd', '1');
    await pipeline.exec();
    const keys = await s.keys('k/');
    expect(keys).toHaveLength(1_200);
    expect(keys[0]).toBe('k/0000');
    expect(keys[1_199]).toBe('k/1199');
  });
});

describe('RedisStore across instances', () => {
  it('keeps data across a reconnect and a new instance', async () => {
    const p = freshPrefix();
    const a = await connect(p);
    await a.put('k', { n: 1 });
    await a.put('k', { n: 2 });
    let reconnects = 0;
    a.onReconnect(() => reconnects++);
    // Drop the command connections server-side (not the subscriber): ioredis reconnects, the store
    // reports it, and the data is still there.
    await a
      .raw()
      .client('KILL', 'TYPE', 'normal', 'SKIPME', 'no')
      .catch(() => undefined);
    await waitFor(() => reconnects === 1, { timeoutMs: 5_000, intervalMs: 10, what: 'onReconnect after CLIENT KILL' });
    expect(await a.get('k')).toEqual({ value: { n: 2 }, version: 2 });
    await a.close();
    const b = await connect(p);
    expect(await b.get('k')).toEqual({ value: { n: 2 }, version: 2 });
    expect(await b.put('k', { n: 3 }, 2)).toEqual({ ok: true, version: 3 });
  });

  it('lets only one of two instances win a compare-and-set', async () => {
    const p = freshPrefix();
    const a = await connect(p);
    const b = await connect(p);
    expect(await a.put('k', 'a', 0)).toEqual({ ok: true, version: 1 });
    expect(await b.put('k', 'b', 0)).toEqual({ ok: false, reason: 'version-conflict', currentVersion: 1 });
    expect(await b.put('k', 'b', 1)).toEqual({ ok: true, version: 2 });
    expect(await a.put('k', 'a2', 1)).toEqual({ ok: false, reason: 'version-conflict', currentVersion: 2 });
    const racers = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).put('k', i, 2)));
    expect(racers.filter((r) => r.ok)).toEqual([{ ok: true, version: 3 }]);
    expect((await a.get('k'))?.version).toBe(3);
  });

  it('refuses a fenced write once the fence moved past its token, and accepts the current token', async () => {
    const p = freshPrefix();
    const s = await connect(p);
    expect(await s.putFenced('rollout/web', 'leader-1', 0, 0)).toEqual({ ok: true, version: 1 });
    await s.raw().set(fenceKey(p), '4');
    expect(await s.putFenced('rollout/web', 'leader-4', 1, 4)).toEqual({ ok: true, version: 2 });
    await s.raw().incr(fenceKey(p));
    // The fence is checked before the version, so even a matching version is refused.
    expect(await s.putFenced('rollout/web', 'stale', 2, 4)).toEqual({ ok: false, reason: 'fenced', currentFence: 5 });
    expect(await s.get('rollout/web')).toEqual({ value: 'leader-4', version: 2 });
    expect(await s.putFenced('rollout/web', 'leader-5', 1, 5)).toEqual({
      ok: false,
      reason: 'version-conflict',
      currentVersion: 2,
    });
    expect(await s.putFenced('rollout/web', 'leader-5', 2, 5)).toEqual({ ok: true, version: 3 });
    expect(await s.putFenced('rollout/web', 'newer-token', undefined, 9)).toEqual({ ok: true, version: 4 });
    await expect(s.putFenced('k', 1, undefined, -1)).rejects.toThrow(TypeError);
    await expect(s.putFenced('k', 1, undefined, 1.5)).rejects.toThrow(TypeError);
  });

  it('notifies another instance of writes and deletes within 200 ms', async () => {
    const p = freshPrefix();
    const writer = await connect(p);
    const reader = await connect(p);
    const stranger = await connect(freshPrefix());
    const seen: { key: string; version: number; at: number }[] = [];
    const strangerSeen: string[] = [];
    reader.onChange((key, version) => seen.push({ key, version, at: Date.now() }));
    stranger.onChange((key) => strangerSeen.push(key));

    const t0 = Date.now();
    await writer.put('routing/web', { weight: 25 });
    await waitFor(() => seen.length >= 1, { timeoutMs: 1_000, intervalMs: 5, what: 'change message' });
    expect(seen[0]).toMatchObject({ key: 'routing/web', version: 1 });
    expect((seen[0]?.at ?? Infinity) - t0).toBeLessThan(200);

    await writer.delete('routing/web');
    await waitFor(() => seen.length >= 2, { timeoutMs: 1_000, intervalMs: 5, what: 'delete message' });
    expect(seen[1]).toMatchObject({ key: 'routing/web', version: 0 });
    // A refused CAS changes nothing, so it announces nothing. One channel delivers in publish order:
    // once a later write's message is in, a message of the refused one would have come before it.
    expect((await writer.put('routing/web', 1, 7)).ok).toBe(false);
    await writer.put('marker', 1);
    await waitFor(() => seen.some((c) => c.key === 'marker'), { timeoutMs: 1_000, intervalMs: 5, what: 'the marker' });
    expect(seen.map((c) => `${c.key}@${c.version}`)).toEqual(['routing/web@1', 'routing/web@0', 'marker@1']);
    // The other installation heard nothing of all that, up to a write of its own made after it.
    await stranger.put('marker', 1);
    await waitFor(() => strangerSeen.length > 0, { timeoutMs: 1_000, intervalMs: 5, what: "the stranger's marker" });
    expect(strangerSeen).toEqual(['marker']);
  });

  it('stops notifying a listener once it unsubscribes, and survives a throwing listener', async () => {
    const p = freshPrefix();
    const s = await connect(p);
    const got: number[] = [];
    s.onChange(() => {
      throw new Error('listener bug');
    });
    const off = s.onChange((_k, v) => got.push(v));
    // Still subscribed: every message is dispatched to all listeners at once, so once this one has
    // version 2 an unsubscribed listener that still heard it would have it too.
    const witness: number[] = [];
    s.onChange((_k, v) => witness.push(v));
    await s.put('k', 1);
    await waitFor(() => got.length === 1, { timeoutMs: 1_000, intervalMs: 5, what: 'first change' });
    off();
    await s.put('k', 2);
    await waitFor(() => witness.includes(2), { timeoutMs: 1_000, intervalMs: 5, what: 'the second change' });
    expect(got).toEqual([1]);
    expect(witness).toEqual([1, 2]);
  });
});

describe('RedisStore connecting', () => {
  it('rejects with redis_unavailable naming the URL without its password', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const err = await RedisStore.connect(`redis://:s3cret@127.0.0.1:${port}`, {
      prefix: 'veer',
      connectTimeoutMs: 500,
    }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(err).toMatchObject({ code: 'redis_unavailable', httpStatus: 503 });
    const message = (err as Error).message;
    expect(message).toContain(`redis://:***@127.0.0.1:${port}`);
    expect(message).not.toContain('s3cret');
  });

  it('rejects a malformed URL or prefix as a config error', async () => {
    await expect(RedisStore.connect('http://127.0.0.1:1', { prefix: 'veer' })).rejects.toMatchObject({
      code: 'config_invalid',
    });
    await expect(RedisStore.connect(redis.url, { prefix: 'a{b}' })).rejects.toMatchObject({ code: 'config_invalid' });
  });
});

describe('RedisStore outages', () => {
  let own: RedisHandle;
  beforeAll(async () => {
    own = await startRedis();
  });
  afterAll(async () => {
    await own?.stop();
  });

  it('rejects fast while Redis is dead, reports down, and fires onReconnect once it is back', async () => {
    const p = freshPrefix();
    const s = await connect(p, own.url, 500);
    const peer = await connect(p, own.url, 500);
    await s.put('k', 'before');
    let reconnects = 0;
    s.onReconnect(() => reconnects++);
    expect(s.status()).toBe('up');

    await own.kill9();
    await waitFor(() => s.status() === 'down', { timeoutMs: 3_000, intervalMs: 10, what: 'status down' });
    for (const op of [() => s.get('k'), () => s.put('k', 'during'), () => s.keys(''), () => s.delete('k')]) {
      const t0 = Date.now();
      await expect(op()).rejects.toMatchObject({ code: 'unavailable', httpStatus: 503 });
      expect(Date.now() - t0).toBeLessThan(3_000);
    }
    expect(reconnects).toBe(0);

    await own.restart();
    await waitFor(() => reconnects >= 1, { timeoutMs: 10_000, intervalMs: 20, what: 'onReconnect' });
    expect(s.status()).toBe('up');
    // The restarted server is empty (no persistence): the store works again from scratch.
    expect(await s.get('k')).toBeNull();
    const seen: number[] = [];
    s.onChange((_k, v) => seen.push(v));
    await waitFor(async () => (await peer.put('k', 'after')).ok, {
      timeoutMs: 10_000,
      intervalMs: 50,
      what: 'peer back',
    });
    await waitFor(() => seen.length >= 1, { timeoutMs: 1_000, intervalMs: 5, what: 'change after resubscribe' });
    expect(seen[0]).toBe(1);
    // Once, not once per connection: by now (round trips on both connections later) a second call
    // for the same outage would have come.
    expect(reconnects).toBe(1);
  });

  it('times out within commandTimeout when Redis hangs (SIGSTOP), and recovers on SIGCONT', async () => {
    const s = await connect(freshPrefix(), own.url, 500);
    await s.put('k', 1);
    process.kill(own.pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      await expect(s.put('k', 2)).rejects.toMatchObject({ code: 'unavailable' });
      const elapsed = Date.now() - t0;
      expect(elapsed).toBeGreaterThanOrEqual(400);
      expect(elapsed).toBeLessThan(3_000);
    } finally {
      process.kill(own.pid, 'SIGCONT');
    }
    await waitFor(async () => (await s.get<number>('k'))?.value !== undefined, {
      timeoutMs: 5_000,
      what: 'read after SIGCONT',
    });
    // The timed-out write may still have been applied: its outcome was unknown, never replayed twice.
    expect([1, 2]).toContain((await s.get<number>('k'))?.value);
  });

  it('rejects calls after close without touching Redis, and close is idempotent', async () => {
    const s = await connect(freshPrefix(), own.url);
    await s.close();
    await s.close();
    expect(s.status()).toBe('down');
    await expect(s.keys('')).rejects.toMatchObject({ code: 'unavailable' });
    await expect(s.delete('k')).rejects.toMatchObject({ code: 'unavailable' });
  });
});

describe('RedisStore on Redis Cluster', () => {
  const nodes: ReturnType<typeof spawnTracked>[] = [];
  let dir = '';
  const ports: number[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'veer-cluster-'));
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      ports.push(port);
      // The cluster bus port is the node's port + 10000 unless named: that one would be neither claimed nor
      // below the ephemeral range, where an outgoing connection of another test may hold it (seen in a run).
      const busPort = await freePort();
      const args = [
        '--port',
        String(port),
        '--cluster-port',
        String(busPort),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
      ];
      nodes.push(
        spawnTracked('redis-server', [...args, '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no']),
      );
    }
    for (const port of ports) await waitFor(() => ping(port, 500), { timeoutMs: 10_000, what: `cluster node ${port}` });
    const create = [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ];
    await promisify(execFile)('redis-cli', create, { timeout: 20_000 });
  }, 40_000);

  afterAll(async () => {
    await Promise.allSettled(nodes.map((n) => stopChild(n, 3_000)));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs the scripts on the hash-tagged slot, scans every master and delivers changes', async () => {
    const url = (p: number | undefined): string => `redis+cluster://127.0.0.1:${p}`;
    // The cluster may need a moment after `--cluster create` before every node agrees on the slots.
    const a = await waitFor(() => connect('veer', url(ports[0])), {
      timeoutMs: 15_000,
      intervalMs: 200,
      what: 'cluster ready',
    });
    const b = await connect('veer', url(ports[2]));
    const seen: string[] = [];
    b.onChange((k, v) => seen.push(`${k}@${v}`));
    expect(await a.put('rollout/web', { weight: 5 }, 0)).toEqual({ ok: true, version: 1 });
    expect(await b.put('rollout/web', { weight: 9 }, 0)).toEqual({
      ok: false,
      reason: 'version-conflict',
      currentVersion: 1,
    });
    await a.raw().set(fenceKey('veer'), '3');
    expect(await b.putFenced('lease-held', 1, undefined, 2)).toEqual({ ok: false, reason: 'fenced', currentFence: 3 });
    expect(await b.putFenced('lease-held', 1, undefined, 3)).toEqual({ ok: true, version: 1 });
    expect(await b.keys('')).toEqual(['lease-held', 'rollout/web']);
    expect(await b.get('rollout/web')).toEqual({ value: { weight: 5 }, version: 1 });
    await waitFor(() => seen.length >= 2, { timeoutMs: 1_000, intervalMs: 5, what: 'cluster change messages' });
    expect(seen).toEqual(['rollout/web@1', 'lease-held@1']);
  });
});
