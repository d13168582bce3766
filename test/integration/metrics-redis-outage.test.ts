// A metrics flush while Redis is away, against a real redis-server the test kills: the backlog is not thrown at a
// client that can only refuse it (each refused command cost an Error and a timer, a whole backlog of them a second
// held the event loop for seconds), and once Redis is back it goes in capped round trips, every record once.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { FlushPipeline, FlushRedis } from '../../src/metrics/flush-pipeline.js';
import { MetricsFlusher } from '../../src/metrics/flusher.js';
import { replicaMark } from '../../src/metrics/flush-marks.js';
import { MergedMetricsSource } from '../../src/metrics/merged-source.js';
import { MetricsRegistry } from '../../src/metrics/registry.js';
import { PoolWindow } from '../../src/metrics/window.js';
import { flushedMarkerKey } from '../../src/store/keys.js';
import { waitFor } from '../helpers/process.js';
import { useFlushRedis } from '../helpers/flush-redis.js';

const BASE = 1_700_000_000;
const h = useFlushRedis();
const { flushers } = h;
const client = (): Promise<Redis> => h.client();

/** The client as the flusher sees it (with its connection state or not), counting each trip's commands and PINGs. */
function watched(c: Redis, withStatus: boolean): { redis: FlushRedis; trips: number[]; pings: () => number } {
  const trips: number[] = [];
  let pings = 0;
  const redis: FlushRedis = {
    ping: () => {
      pings++;
      return c.ping();
    },
    pipeline: () => {
      const p = c.pipeline();
      const exec = p.exec.bind(p);
      p.exec = () => {
        trips.push(p.length);
        return exec();
      };
      return p as unknown as FlushPipeline;
    },
  };
  // A getter, read at each flush (a spread would copy one reading).
  if (withStatus) Object.defineProperty(redis, 'status', { get: () => c.status });
  return { redis, trips, pings: () => pings };
}

class ManualClock {
  constructor(public t: number) {}
  now = (): number => this.t;
}

const SERVICES = ['a', 'b', 'c'];

/** 40 busy seconds from BASE of three services, both pools, into `reg` and into one reference window each. */
function traffic(reg: MetricsRegistry): Map<string, PoolWindow> {
  const ref = new Map<string, PoolWindow>();
  for (let sec = BASE; sec < BASE + 40; sec++)
    for (const s of SERVICES)
      for (const pool of ['stable', 'canary'] as const)
        for (let k = 0; k < 5; k++) {
          const t = sec * 1000 + k * 150;
          const status = k === 4 ? 503 : 200;
          reg.pool(s, pool).record(t, status, 1 + k * 7);
          const key = `${s}/${pool}`;
          if (!ref.has(key)) ref.set(key, new PoolWindow());
          ref.get(key)?.record(t, status, 1 + k * 7);
        }
  return ref;
}

describe('MetricsFlusher through a Redis outage (real redis-server)', () => {
  it('sends no backlog while Redis is away; then drains it in capped round trips, every record once', async () => {
    const c = await client();
    const w = watched(c, true);
    const prefix = 'out1';
    const reg = new MetricsRegistry();
    const ref = traffic(reg);
    const clock = new ManualClock((BASE + 40) * 1000 + 200);
    const budget = 100;
    const f = new MetricsFlusher({
      registry: reg,
      redis: w.redis,
      prefix,
      clock,
      replica: 'r1',
      maxCommandsPerTrip: budget,
    });
    flushers.push(f);
    await h.server.kill9();
    await waitFor(() => c.status !== 'ready', { timeoutMs: 5_000, intervalMs: 10, what: 'ioredis to see the crash' });
    await outage(f, clock, 5);
    // Nothing built for a client that could only refuse it.
    expect(w.trips).toEqual([]);
    expect(w.pings()).toBe(0);

    await h.server.restart();
    await waitFor(() => c.status === 'ready', { timeoutMs: 5_000, intervalMs: 20, what: 'ioredis to reconnect' });
    expect(await f.flushOnce()).toBe('sent');
    await drained(f, w.trips, budget);
    await sameAsServed(new MergedMetricsSource({ redis: c, prefix }), ref);
    // The replica's own mark only once the whole backlog is in.
    expect(await c.zscore(flushedMarkerKey(prefix), replicaMark('r1'))).toBe(String(BASE + 44));
    expect(await f.flushOnce()).toBe('idle');
  });

  it('with no connection state to go by, one PING per flush is all that goes out till Redis answers', async () => {
    const c = await client();
    const w = watched(c, false);
    const prefix = 'out2';
    const reg = new MetricsRegistry();
    const ref = traffic(reg);
    const clock = new ManualClock((BASE + 40) * 1000 + 200);
    const budget = 300;
    const f = new MetricsFlusher({ registry: reg, redis: w.redis, prefix, clock, maxCommandsPerTrip: budget });
    flushers.push(f);
    await h.server.kill9();
    await waitFor(() => c.status !== 'ready', { timeoutMs: 5_000, intervalMs: 10, what: 'ioredis to see the crash' });
    expect(await f.flushOnce()).toBe('failed'); // not known to be down yet: one capped trip, refused
    expect(w.trips).toHaveLength(1);
    await outage(f, clock, 5);
    expect(w.trips).toHaveLength(1);
    expect(w.pings()).toBe(5);

    await h.server.restart();
    await waitFor(() => c.status === 'ready', { timeoutMs: 5_000, intervalMs: 20, what: 'ioredis to reconnect' });
    w.trips.length = 0;
    expect(await f.flushOnce()).toBe('sent');
    expect(w.pings()).toBe(6);
    await drained(f, w.trips, budget);
    await sameAsServed(new MergedMetricsSource({ redis: c, prefix }), ref);
  });

  it('a backlog larger than half a flush can send goes over the following flushes, every record once', async () => {
    const c = await client();
    const w = watched(c, true);
    const prefix = 'out3';
    const reg = new MetricsRegistry();
    const ref = traffic(reg);
    // Each reading of the clock is 300 ms later: a flush (time bound 2 s) stops after a few round trips.
    let t = (BASE + 40) * 1000 + 200;
    const clock = { now: () => (t += 300) };
    const budget = 100;
    const f = new MetricsFlusher({ registry: reg, redis: w.redis, prefix, clock, maxCommandsPerTrip: budget });
    flushers.push(f);
    expect(await f.flushOnce()).toBe('sent');
    const first = w.trips.length;
    expect(first).toBeGreaterThan(1);
    expect(f.stats().buffered).toBeGreaterThan(0);
    for (let i = 0; i < 30 && f.stats().buffered > 0; i++) expect(await f.flushOnce()).toBe('sent');
    expect(w.trips.length).toBeGreaterThan(first);
    await drained(f, w.trips, budget);
    await sameAsServed(new MergedMetricsSource({ redis: c, prefix }), ref);
  });

  it('the last flush (stop) sends the whole backlog, past the time a flush gives it', async () => {
    const c = await client();
    const w = watched(c, true);
    const prefix = 'out4';
    const reg = new MetricsRegistry();
    const ref = traffic(reg);
    let t = (BASE + 40) * 1000 + 200;
    const clock = { now: () => (t += 300) };
    const budget = 100;
    const f = new MetricsFlusher({ registry: reg, redis: w.redis, prefix, clock, maxCommandsPerTrip: budget });
    expect(await f.stop()).toBe('sent');
    await drained(f, w.trips, budget);
    await sameAsServed(new MergedMetricsSource({ redis: c, prefix }), ref);
  });
});

const RECORDS = SERVICES.length * 2 * 40;

/** `n` flushes, a second apart, while Redis is away: each fails and the backlog stays whole. */
async function outage(f: MetricsFlusher, clock: ManualClock, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    clock.t += 1_000;
    expect(await f.flushOnce()).toBe('failed');
  }
  expect(f.stats()).toMatchObject({ buffered: RECORDS, dropped: 0, flushedSeconds: 0 });
}

/** Every record flushed, in round trips each stopped once the budget was spent (by less than a record more). */
async function drained(f: MetricsFlusher, trips: number[], budget: number): Promise<void> {
  expect(f.stats()).toMatchObject({ buffered: 0, dropped: 0, flushedSeconds: RECORDS, lastError: null });
  const perRecord = 4 + 2 + 1; // four counters, at most two buckets here, one EXPIRE
  expect(trips.length).toBeGreaterThanOrEqual(Math.ceil((RECORDS * 6) / budget));
  for (const n of trips) expect(n).toBeLessThan(budget + perRecord + 2); // + the marker's ZADD and EXPIRE
}

/** Each second in Redis holds exactly what was served in it: nothing lost, nothing counted twice. */
async function sameAsServed(source: MergedMetricsSource, ref: Map<string, PoolWindow>): Promise<void> {
  for (const [key, window] of ref) {
    const [service, pool] = key.split('/') as [string, 'stable' | 'canary'];
    for (let sec = BASE; sec < BASE + 40; sec++) {
      const got = await source.totals(service, pool, sec * 1000, sec * 1000 + 999);
      const want = window.totals(sec * 1000, sec * 1000 + 999);
      expect(want.requests).toBe(5);
      expect([got.requests, got.errors, ...got.latency]).toEqual([want.requests, want.errors, ...want.latency]);
    }
  }
}
