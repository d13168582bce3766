// Metrics merged across replicas through a real redis-server: per-second deltas flushed by several
// registries sum to exactly what one window seeing all the traffic holds, including every latency
// bucket, and nothing is lost or counted twice across flush retries and a Redis crash.
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/domain/clock.js';
import { isVeerError, UnavailableError } from '../../src/domain/errors.js';
import type { PoolName } from '../../src/domain/pool.js';
import { surelyUnapplied, type FlushPipeline, type FlushRedis } from '../../src/metrics/flush-pipeline.js';
import { MetricsFlusher } from '../../src/metrics/flusher.js';
import { quantileMs } from '../../src/metrics/histogram.js';
import { replicaMark, STALE_MARK_S } from '../../src/metrics/flush-marks.js';
import { MERGE_SETTLE_MS, MergedMetricsSource } from '../../src/metrics/merged-source.js';
import { MetricsRegistry } from '../../src/metrics/registry.js';
import { EXCLUDED, RouteGroups } from '../../src/metrics/route-groups.js';
import { PoolWindow, type WindowTotals } from '../../src/metrics/window.js';
import { flushedMarkerKey, metricKey, replicasKey } from '../../src/store/keys.js';
import { ioredisOptions, parseRedisUrl } from '../../src/store/redis-url.js';
import { deadPort } from '../helpers/veer.js';
import { waitFor } from '../helpers/process.js';
import { useFlushRedis } from '../helpers/flush-redis.js';

const BASE = 1_700_000_000; // an epoch second; every test works in seconds after it
const h = useFlushRedis();
const { flushers } = h;
const client = (): Promise<Redis> => h.client();
let prefixSeq = 0;

/** Counts exec() calls, i.e. round trips: a pipeline goes out in one write when exec() is called. */
function counting(c: Redis): { redis: FlushRedis; execs: () => number } {
  let execs = 0;
  return {
    redis: {
      ping: () => c.ping(),
      get status() {
        return c.status;
      },
      pipeline: () => {
        const p = c.pipeline() as unknown as FlushPipeline;
        const exec = p.exec.bind(p);
        p.exec = () => {
          execs++;
          return exec();
        };
        return p;
      },
    },
    execs: () => execs,
  };
}

class ManualClock {
  constructor(public t: number) {}
  now = (): number => this.t;
}

function flusher(
  registry: MetricsRegistry,
  r: FlushRedis,
  prefix: string,
  clock: ManualClock,
  extra: { maxBufferedSeconds?: number; ttlSeconds?: number; replica?: string; maxCommandsPerTrip?: number } = {},
): MetricsFlusher {
  const f = new MetricsFlusher({ registry, redis: r, prefix, clock, ...extra });
  flushers.push(f);
  return f;
}

const newPrefix = (): string => `t${++prefixSeq}`;

function expectSame(actual: WindowTotals, expected: WindowTotals): void {
  expect({ ...actual, latency: Array.from(actual.latency) }).toEqual({
    ...expected,
    latency: Array.from(expected.latency),
  });
  for (const q of [0.5, 0.95, 0.99]) {
    expect(quantileMs(actual.latency, actual.requests, q)).toBe(quantileMs(expected.latency, expected.requests, q));
  }
}

interface Event {
  t: number;
  service: string;
  pool: PoolName;
  status: number;
  failure: 'connect' | 'timeout' | null;
  latencyMs: number;
  replica: number;
}

/** A seeded stream over [fromSec, fromSec + seconds): statuses, proxy failures, latencies 0.01 ms … 200 s. */
function events(seed: number, n: number, fromSec: number, seconds: number): Event[] {
  const rnd = seededRandom(seed);
  const out: Event[] = [];
  for (let i = 0; i < n; i++) {
    const f = rnd();
    out.push({
      t: fromSec * 1000 + Math.floor(rnd() * seconds * 1000),
      service: rnd() < 0.7 ? 'web' : 'api',
      pool: rnd() < 0.6 ? 'stable' : 'canary',
      status: rnd() < 0.04 ? 503 : 200,
      failure: f < 0.01 ? 'connect' : f < 0.02 ? 'timeout' : null,
      latencyMs: rnd() < 0.002 ? 200_000 : 0.01 * 10 ** (rnd() * 5.5),
      replica: Math.floor(rnd() * 3),
    });
  }
  return out.sort((a, b) => a.t - b.t);
}

function recordInto(w: PoolWindow, e: Event): void {
  if (e.failure) w.recordFailure(e.t, e.failure, e.latencyMs);
  else w.record(e.t, e.status, e.latencyMs);
}

describe('MetricsFlusher + MergedMetricsSource (real redis-server)', () => {
  it('three replicas flushed to Redis sum exactly to one window that saw everything', async () => {
    const c = await client();
    const prefix = newPrefix();
    const clock = new ManualClock(BASE * 1000);
    const replicas = [new MetricsRegistry(), new MetricsRegistry(), new MetricsRegistry()];
    const reference = new Map<string, PoolWindow>();
    const seen = [0, 0, 0];
    for (const e of events(7, 12_000, BASE, 10)) {
      recordInto((replicas[e.replica] as MetricsRegistry).pool(e.service, e.pool), e);
      seen[e.replica]!++;
      const k = `${e.service}/${e.pool}`;
      if (!reference.has(k)) reference.set(k, new PoolWindow());
      recordInto(reference.get(k) as PoolWindow, e);
    }
    expect(Math.min(...seen)).toBeGreaterThan(3_000);
    clock.t = (BASE + 10) * 1000 + 200; // the last second, BASE+9, is now complete
    const counted = counting(c);
    // A cap per round trip above the backlog: one round trip per replica flush, for 4 pools × 10 seconds each.
    const fs = replicas.map((r) => flusher(r, counted.redis, prefix, clock, { maxCommandsPerTrip: 100_000 }));
    for (const f of fs) expect(await f.flushOnce()).toBe('sent');
    expect(counted.execs()).toBe(3);
    const source = new MergedMetricsSource({ redis: c, prefix });
    for (const [k, ref] of reference) {
      const [service, pool] = k.split('/') as [string, PoolName];
      const whole = ref.totals(BASE * 1000, (BASE + 10) * 1000 - 1);
      // Not a vacuous comparison: errors of every kind and a wide spread of buckets, overflow included.
      expect(whole.connectErrors).toBeGreaterThan(0);
      expect(whole.timeouts).toBeGreaterThan(0);
      expect(whole.errors).toBeGreaterThan(whole.connectErrors + whole.timeouts);
      expect(whole.latency.filter((n) => n > 0).length).toBeGreaterThan(100);
      expect(whole.latency[whole.latency.length - 1]).toBeGreaterThan(0);
      expectSame(await source.totals(service, pool, BASE * 1000, (BASE + 10) * 1000 - 1), whole);
      for (let s = BASE; s < BASE + 10; s++) {
        expectSame(await source.totals(service, pool, s * 1000, s * 1000 + 999), ref.totals(s * 1000, s * 1000 + 999));
      }
    }
    for (const f of fs)
      expect(f.stats()).toMatchObject({ buffered: 0, dropped: 0, lastError: null, lastFlushAt: clock.t });
    expect(fs.reduce((n, f) => n + f.stats().flushedSeconds, 0)).toBe(3 * 4 * 10);
  });

  it('route groups, 4xx and errors by client merge exactly, by group name, across replicas', async () => {
    const c = await client();
    const prefix = newPrefix();
    const clock = new ManualClock(BASE * 1000);
    const spec = { routes: 'auto' as const, excludePaths: ['/healthz'], base: '/' };
    const replicas = [new MetricsRegistry(), new MetricsRegistry()];
    const reference = new PoolWindow();
    const refGroups = new RouteGroups(spec);
    reference.routes.use(refGroups);
    const rnd = seededRandom(11);
    const paths = ['/api/a', '/poll', '/export/x', '/healthz', '/'];
    for (let i = 0; i < 4_000; i++) {
      // Each replica meets the paths in its own order, so its group indexes differ from the other's.
      const replica = i % 2;
      const path = paths[replica === 0 ? i % 5 : 4 - (i % 5)] as string;
      const t = BASE * 1000 + Math.floor(rnd() * 5_000);
      const status = rnd() < 0.05 ? 503 : rnd() < 0.1 ? 404 : 200;
      const bucket = Math.floor(rnd() * 6);
      const latencyMs = 1 + rnd() * 50;
      const groups = (replicas[replica] as MetricsRegistry).groups('web', spec);
      const w = (replicas[replica] as MetricsRegistry).pool('web', 'canary');
      const g = groups.classify(path);
      w.record(t, status, latencyMs, g === EXCLUDED ? EXCLUDED : groups.code(g), bucket);
      const rg = refGroups.classify(path);
      reference.record(t, status, latencyMs, rg === EXCLUDED ? EXCLUDED : refGroups.code(rg), bucket);
    }
    clock.t = (BASE + 5) * 1000 + 200;
    for (const r of replicas) expect(await flusher(r, c, prefix, clock).flushOnce()).toBe('sent');
    const merged = await new MergedMetricsSource({ redis: c, prefix }).totals(
      'web',
      'canary',
      BASE * 1000,
      (BASE + 5) * 1000 - 1,
    );
    const whole = reference.totals(BASE * 1000, (BASE + 5) * 1000 - 1);
    const counts = (t: WindowTotals): number[] => [t.requests, t.errors, t.clientErrors, ...t.latency];
    expect(counts(merged)).toEqual(counts(whole));
    expect(whole.clientErrors).toBeGreaterThan(0);
    expect(Object.keys(merged.routes ?? {}).sort()).toEqual(['/', '/api', '/export', '/poll']);
    for (const [name, r] of Object.entries(whole.routes ?? {}))
      expect(counts(merged.routes?.[name] as WindowTotals)).toEqual(counts(r));
    // Errors by client: the first four failing clients of each second, exactly, on every replica.
    const attributed = (t: WindowTotals): number => Object.values(t.clients ?? {}).reduce((a, b) => a + b, 0);
    expect(attributed(merged)).toBeGreaterThan(0);
    expect(attributed(merged)).toBeLessThanOrEqual(merged.errors);
    // And 4xx by client apart from them: what each replica attributed, summed exactly.
    const byClient = (key: 'clients' | 'clients4xx'): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const r of replicas)
        for (const [k, n] of Object.entries(
          r.pool('web', 'canary').totals(BASE * 1000, (BASE + 5) * 1000 - 1)[key] ?? {},
        ))
          out[k] = (out[k] ?? 0) + n;
      return out;
    };
    expect(Object.keys(merged.clients4xx ?? {}).length).toBeGreaterThan(1);
    expect(merged.clients4xx).toEqual(byClient('clients4xx'));
    expect(merged.clients).toEqual(byClient('clients'));
  });

  it('flushing again adds nothing, and one flush is one round trip however many records', async () => {
    const c = await client();
    const prefix = newPrefix();
    const clock = new ManualClock(BASE * 1000);
    const reg = new MetricsRegistry();
    for (let s = 0; s < 5; s++)
      for (let i = 0; i < 10; i++)
        reg.pool('web', i % 2 ? 'stable' : 'canary').record((BASE + s) * 1000 + i, 200, 3 + i);
    const counted = counting(c);
    const f = flusher(reg, counted.redis, prefix, clock);
    const source = new MergedMetricsSource({ redis: c, prefix });
    clock.t = (BASE + 5) * 1000 + 200;
    expect(await f.flushOnce()).toBe('sent');
    expect(counted.execs()).toBe(1);
    expect(f.stats().flushedSeconds).toBe(10);
    expect(await f.flushOnce()).toBe('idle');
    expect(counted.execs()).toBe(1);
    clock.t += 3_000; // quiet seconds: only the freshness marker goes out
    expect(await f.flushOnce()).toBe('sent');
    expect(counted.execs()).toBe(2);
    expect(f.stats().flushedSeconds).toBe(10);
    const t = await source.totals('web', 'stable', BASE * 1000, (BASE + 8) * 1000);
    expect(t.requests).toBe(25);
    expect((await source.totals('web', 'canary', BASE * 1000, (BASE + 8) * 1000)).requests).toBe(25);
  });

  it('does not flush a second until it is over plus the grace, and then includes its late requests', async () => {
    const c = await client();
    const prefix = newPrefix();
    const S = BASE + 100;
    const clock = new ManualClock(S * 1000 + 500);
    const reg = new MetricsRegistry();
    const w = reg.pool('web', 'canary');
    w.record(S * 1000 + 500, 200, 5);
    const f = flusher(reg, c, prefix, clock);
    const source = new MergedMetricsSource({ redis: c, prefix });
    clock.t = (S + 1) * 1000 + 199;
    w.record(S * 1000 + 999, 502, 40); // timed before the boundary, recorded just after it
    await f.flushOnce();
    expect(await c.exists(metricKey(prefix, 'web', 'canary', S))).toBe(0);
    w.record((S + 1) * 1000 + 150, 200, 5);
    clock.t = (S + 1) * 1000 + 200;
    expect(await f.flushOnce()).toBe('sent');
    const t = await source.totals('web', 'canary', S * 1000, (S + 1) * 1000 + 999);
    expect({ requests: t.requests, errors: t.errors }).toEqual({ requests: 2, errors: 1 });
    expect(await c.hgetall(metricKey(prefix, 'web', 'canary', S))).toMatchObject({ r: '2', e: '1', c: '0', t: '0' });
    clock.t = (S + 2) * 1000 + 200;
    await f.flushOnce();
    expect((await source.totals('web', 'canary', S * 1000, (S + 1) * 1000 + 999)).requests).toBe(3);
  });

  it('sets a TTL on every key and reports how far the newest flushed second trails now', async () => {
    const c = await client();
    const prefix = newPrefix();
    const S = BASE + 200;
    const clock = new ManualClock(S * 1000);
    const reg = new MetricsRegistry();
    reg.pool('api', 'stable').record(S * 1000 + 1, 200, 1);
    const f = flusher(reg, c, prefix, clock, { ttlSeconds: 77 });
    const source = new MergedMetricsSource({ redis: c, prefix });
    expect(await source.lagSeconds(clock.t)).toBeNull();
    clock.t = (S + 1) * 1000 + 700;
    expect(await f.flushOnce()).toBe('sent');
    const key = metricKey(prefix, 'api', 'stable', S);
    expect(key).toBe(`${prefix}:{${prefix}}:m:api:stable:${S}`);
    for (const k of [key, flushedMarkerKey(prefix)]) {
      const ttl = await c.ttl(k);
      expect(ttl).toBeGreaterThan(70);
      expect(ttl).toBeLessThanOrEqual(77);
    }
    expect(await source.lagSeconds(clock.t)).toBeCloseTo(0.7, 9);
    expect(await source.lagSeconds(clock.t + 5_000)).toBeCloseTo(5.7, 9);
  });

  it('a second is complete once every live replica marked it, not a fixed two seconds later', async () => {
    const c = await client();
    const prefix = newPrefix();
    const S = BASE + 250;
    const clock = new ManualClock((S + 1) * 1000 + 210); // second S just over, plus the flush grace
    const [ra, rb] = [new MetricsRegistry(), new MetricsRegistry()];
    ra.pool('web', 'canary').record(S * 1000 + 10, 503, 1);
    rb.pool('web', 'canary').record(S * 1000 + 20, 503, 1);
    const a = flusher(ra, c, prefix, clock, { replica: 'a' });
    const b = flusher(rb, c, prefix, clock, { replica: 'b' });
    const source = new MergedMetricsSource({ redis: c, prefix, rememberMs: 5_000 });
    const live = async (...ids: string[]): Promise<void> => {
      await c.del(replicasKey(prefix));
      for (const id of ids) await c.zadd(replicasKey(prefix), clock.t, id);
    };
    const byTime = (): number => Math.floor((clock.t - MERGE_SETTLE_MS) / 1000) - 1;
    await live('a', 'b');
    expect(byTime()).toBe(S - 2);
    // Nobody has marked anything yet: the fixed wait.
    expect(await source.lastComplete(clock.t)).toBe(S - 2);
    expect(await a.flushOnce()).toBe('sent');
    expect(await source.lastComplete(clock.t)).toBe(S - 2); // b is live and has not shipped S
    expect(await b.flushOnce()).toBe('sent');
    expect(await source.lastComplete(clock.t)).toBe(S);
    expect((await source.totals('web', 'canary', S * 1000, S * 1000 + 999)).errors).toBe(2);

    // A new replica, live in the registry but with nothing shipped yet, is waited for with the fixed wait (by
    // a reader of its own: this one would remember c for a while).
    await live('a', 'b', 'c');
    expect(await new MergedMetricsSource({ redis: c, prefix }).lastComplete(clock.t)).toBe(S - 2);
    await live('a', 'b');

    // a ships S+1 and b does not yet: S+1 is not complete.
    clock.t += 1_000;
    rb.pool('web', 'canary').record((S + 1) * 1000 + 500, 503, 1);
    expect(await a.flushOnce()).toBe('sent');
    expect(await source.lastComplete(clock.t)).toBe(S);
    // b leaves: its last flush ships the second it was in and drops its mark. It is remembered a while (Redis
    // could have lost it), so the fixed wait rules until then; its share of S+1 is there all along.
    await live('a');
    expect(await b.stop()).toBe('sent');
    expect(await c.zscore(flushedMarkerKey(prefix), replicaMark('b'))).toBeNull();
    expect((await source.totals('web', 'canary', (S + 1) * 1000, (S + 1) * 1000 + 999)).errors).toBe(1);
    expect(await source.lastComplete(clock.t)).toBe(byTime());
    clock.t += 5_001;
    await live('a');
    expect(await a.flushOnce()).toBe('sent');
    expect(await source.lastComplete(clock.t)).toBe(S + 6);
    expect(byTime()).toBe(S + 4);

    // a's mark trails the fixed wait by STALE_MARK_S and a is gone from the registry: a is still waited for
    // (the floor rules); one second later it is late or gone, and after rememberMs forgotten.
    await live();
    clock.t += (STALE_MARK_S + 2) * 1_000;
    expect(byTime()).toBe(S + 6 + STALE_MARK_S);
    expect(await source.lastComplete(clock.t)).toBe(byTime());
    clock.t += 5_001;
    expect(await source.lastComplete(clock.t)).toBe(byTime());
    expect(await c.zscore(flushedMarkerKey(prefix), replicaMark('a'))).toBe(String(S + 6));
  });

  it('a replica Redis forgot (a restart, a cut link) is waited for, with the fixed wait, till it is back', async () => {
    const c = await client();
    const prefix = newPrefix();
    const S = BASE + 260;
    const clock = new ManualClock((S + 1) * 1000 + 210);
    const a = flusher(new MetricsRegistry(), c, prefix, clock, { replica: 'a' });
    const rb = new MetricsRegistry();
    const b = flusher(rb, c, prefix, clock, { replica: 'b' });
    const source = new MergedMetricsSource({ redis: c, prefix });
    await c.zadd(replicasKey(prefix), clock.t, 'a', clock.t, 'b');
    expect([await a.flushOnce(), await b.flushOnce()]).toEqual(['sent', 'sent']);
    expect(await source.lastComplete(clock.t)).toBe(S);
    // Redis loses everything; a comes back at once and marks S+1, b (with a request in S+1) not yet.
    await c.flushall();
    clock.t += 1_000;
    rb.pool('web', 'stable').record((S + 1) * 1000 + 100, 200, 1);
    await c.zadd(replicasKey(prefix), clock.t, 'a');
    expect(await a.flushOnce()).toBe('sent');
    expect(await source.lastComplete(clock.t)).toBe(S - 1); // the fixed wait, not a's S+1
    expect(await b.flushOnce()).toBe('sent');
    expect(await source.lastComplete(clock.t)).toBe(S + 1);
    expect((await source.totals('web', 'stable', (S + 1) * 1000, (S + 1) * 1000 + 999)).requests).toBe(1);
  });

  it('a replica whose record Redis refused does not mark its second until the record is in', async () => {
    const c = await client();
    const prefix = newPrefix();
    const S = BASE + 265;
    const clock = new ManualClock((S + 1) * 1000 + 210);
    const reg = new MetricsRegistry();
    reg.pool('web', 'canary').record(S * 1000 + 10, 503, 1);
    const f = flusher(reg, c, prefix, clock, { replica: 'a' });
    const source = new MergedMetricsSource({ redis: c, prefix });
    await c.zadd(replicasKey(prefix), clock.t, 'a');
    // Not a hash: every HINCRBY of the record fails (WRONGTYPE) while the marker set takes its writes.
    await c.set(metricKey(prefix, 'web', 'canary', S), 'x');
    expect(await f.flushOnce()).toBe('failed');
    expect(f.stats().buffered).toBe(1);
    expect(await c.zscore(flushedMarkerKey(prefix), replicaMark('a'))).toBeNull();
    expect(await source.lastComplete(clock.t)).toBe(S - 2);
    await c.del(metricKey(prefix, 'web', 'canary', S));
    expect(await f.flushOnce()).toBe('sent');
    expect(await c.zscore(flushedMarkerKey(prefix), replicaMark('a'))).toBe(String(S));
    expect(await source.lastComplete(clock.t)).toBe(S);
    expect((await source.totals('web', 'canary', S * 1000, S * 1000 + 999)).errors).toBe(1);
  });

  it('a mark of a replica that died without leaving is pruned once older than the hashes it stood for', async () => {
    const c = await client();
    const prefix = newPrefix();
    const S = BASE + 270;
    const clock = new ManualClock((S + 1) * 1000 + 210);
    await c.zadd(flushedMarkerKey(prefix), S - 100, replicaMark('dead'), S - 5, replicaMark('recent'));
    const f = flusher(new MetricsRegistry(), c, prefix, clock, { replica: 'a', ttlSeconds: 60 });
    expect(await f.flushOnce()).toBe('sent');
    const members = await c.zrange(flushedMarkerKey(prefix), 0, -1);
    expect(members.sort()).toEqual(['newest', replicaMark('a'), replicaMark('recent')].sort());
  });

  it('lastComplete says when Redis does not answer', async () => {
    const c = await client();
    const source = new MergedMetricsSource({ redis: c, prefix: newPrefix() });
    await h.server.stop();
    const err = await source.lastComplete(Date.now()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(isVeerError(err) && err.message).toMatch(/redis did not answer reading flush marks/);
    await h.server.restart();
  });

  it('buffers through a Redis crash (counted bound), delivers the buffered seconds exactly after restart', async () => {
    const c = await client();
    const prefix = newPrefix();
    const S = BASE + 300;
    const clock = new ManualClock(S * 1000);
    const reg = new MetricsRegistry();
    const ref = new PoolWindow();
    const rnd = seededRandom(99);
    const traffic = (sec: number): void => {
      for (let i = 0; i < 50; i++) {
        const t = sec * 1000 + Math.floor(rnd() * 1000);
        const status = rnd() < 0.1 ? 500 : 200;
        const ms = 1 + rnd() * 400;
        reg.pool('web', 'canary').record(t, status, ms);
        ref.record(t, status, ms);
      }
    };
    const counted = counting(c);
    const f = flusher(reg, counted.redis, prefix, clock, { maxBufferedSeconds: 4 });
    const source = new MergedMetricsSource({ redis: c, prefix });
    await h.server.kill9();
    for (let s = S; s < S + 7; s++) traffic(s);
    clock.t = (S + 7) * 1000 + 200;
    expect(await f.flushOnce()).toBe('failed');
    expect(f.stats()).toMatchObject({ buffered: 4, dropped: 3, flushedSeconds: 0, lastFlushAt: null });
    expect(f.stats().lastError).toEqual(expect.any(String));
    const down = await source.totals('web', 'canary', S * 1000, (S + 7) * 1000).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(UnavailableError);
    expect(isVeerError(down) && down.code).toBe('unavailable');
    traffic(S + 7);
    clock.t += 1_000;
    expect(await f.flushOnce()).toBe('failed');
    expect(f.stats()).toMatchObject({ buffered: 4, dropped: 4 });

    await h.server.restart();
    await waitFor(() => c.status === 'ready', { timeoutMs: 5_000, intervalMs: 20, what: 'ioredis to reconnect' });
    const before = counted.execs();
    expect(await f.flushOnce()).toBe('sent');
    expect(counted.execs()).toBe(before + 1);
    expect(f.stats()).toMatchObject({
      buffered: 0,
      dropped: 4,
      flushedSeconds: 4,
      lastError: null,
      lastFlushAt: clock.t,
    });
    // The newest four seconds arrive exact; the four oldest were dropped by the bound, not half-sent.
    const kept = [(S + 4) * 1000, (S + 8) * 1000 - 1] as const;
    expectSame(await source.totals('web', 'canary', ...kept), ref.totals(...kept));
    expect((await source.totals('web', 'canary', S * 1000, (S + 4) * 1000 - 1)).requests).toBe(0);
    expect(await f.flushOnce()).toBe('idle');
    expectSame(await source.totals('web', 'canary', ...kept), ref.totals(...kept));
  });

  it('start() flushes on its own timer and stop() ships the unfinished second too', async () => {
    const c = await client();
    const prefix = newPrefix();
    const S = BASE + 400;
    const clock = new ManualClock(S * 1000 + 300);
    const reg = new MetricsRegistry();
    reg.pool('web', 'stable').record(S * 1000 - 500, 200, 2); // S-1: over once the grace passes
    const f = flusher(reg, c, prefix, clock);
    f.start();
    await waitFor(() => f.stats().flushedSeconds === 1, { timeoutMs: 3_000, intervalMs: 25, what: 'the timer flush' });
    reg.pool('web', 'stable').record(S * 1000 + 300, 200, 2); // the current, unfinished second
    expect(await f.stop()).toBe('sent');
    expect(await c.hget(metricKey(prefix, 'web', 'stable', S), 'r')).toBe('1');
    expect(f.stats().flushedSeconds).toBe(2);
  });
});

/** A pipeline whose replies the test hands out, to reach the outcomes a healthy server never gives. */
function scripted(): {
  redis: FlushRedis;
  commands: string[][];
  answer: (replies: (Error | null)[] | 'all-ok') => void;
} {
  const commands: string[][] = [];
  let pending: ((r: [Error | null, unknown][]) => void) | null = null;
  const p: FlushPipeline = {
    hincrby: (...a) => (commands.push(['hincrby', ...a.map(String)]), p),
    expire: (...a) => (commands.push(['expire', ...a.map(String)]), p),
    zadd: (...a) => (commands.push(['zadd', ...a.map(String)]), p),
    zremrangebyscore: (...a) => (commands.push(['zremrangebyscore', ...a.map(String)]), p),
    zrem: (...a) => (commands.push(['zrem', ...a.map(String)]), p),
    exec: () => new Promise((resolve) => (pending = resolve)),
  };
  return {
    redis: { pipeline: () => p, ping: async () => 'PONG' },
    commands,
    answer: (replies) => {
      const list = replies === 'all-ok' ? commands.map(() => null) : replies;
      const resolve = pending;
      pending = null;
      resolve?.(list.map((e) => [e, e ? null : 1]));
    },
  };
}

describe('MetricsFlusher with a scripted pipeline', () => {
  it('a round trip that outlives flushTimeoutMs is settled by its own late reply, never sent twice', async () => {
    const S = BASE + 500;
    const clock = new ManualClock((S + 1) * 1000 + 200);
    const reg = new MetricsRegistry();
    reg.pool('web', 'stable').record(S * 1000, 200, 1);
    const fake = scripted();
    const f = new MetricsFlusher({ registry: reg, redis: fake.redis, prefix: 'x', clock, flushTimeoutMs: 30 });
    expect(await f.flushOnce()).toBe('timeout');
    expect(f.stats()).toMatchObject({ buffered: 1, flushedSeconds: 0 });
    clock.t += 1_000;
    expect(await f.flushOnce()).toBe('busy');
    const sent = fake.commands.length;
    fake.answer('all-ok');
    await waitFor(() => f.stats().flushedSeconds === 1, { timeoutMs: 1_000, intervalMs: 5, what: 'the late reply' });
    expect(f.stats()).toMatchObject({ buffered: 0, dropped: 0, lastError: null });
    expect(fake.commands.length).toBe(sent); // nothing queued again while the first trip was open
  });

  it('retries a record none of whose increments applied, and drops (counts) one only partly applied', async () => {
    const S = BASE + 600;
    const { f, fake, first } = await twoInFlight(S);
    // Each record: 4 counters + 1 bucket + EXPIRE; then the marker's ZADD + EXPIRE.
    expect(fake.commands.length).toBe(6 + 6 + 2);
    const boom = Object.assign(new Error('LOADING Redis is loading the dataset in memory'), { name: 'ReplyError' });
    fake.answer([boom, boom, boom, boom, boom, null, null, boom, null, null, null, null, null, null]);
    expect(await first).toBe('failed');
    expect(f.stats()).toMatchObject({ buffered: 1, dropped: 1, flushedSeconds: 0, lastError: boom.message });
    expect(await retried(f, fake)).toEqual([`x:{x}:m:web:stable:${S}`]);
    expect(f.stats()).toMatchObject({ buffered: 0, dropped: 1, flushedSeconds: 1, lastError: null });
  });

  it('never resends a record whose replies timed out (Redis may apply it yet); resends one never sent', async () => {
    const S = BASE + 700;
    const { f, fake, first } = await twoInFlight(S);
    const late = new Error('Command timed out');
    const unsent = new Error("Stream isn't writeable and enableOfflineQueue options is false");
    // The stable record's replies timed out; the canary record's never left (no connection).
    fake.answer([late, late, late, late, late, late, unsent, unsent, unsent, unsent, unsent, unsent, null, null]);
    expect(await first).toBe('failed');
    expect(f.stats()).toMatchObject({ buffered: 1, dropped: 1, flushedSeconds: 0 });
    expect(await retried(f, fake)).toEqual([`x:{x}:m:web:canary:${S}`]);
    expect(f.stats()).toMatchObject({ buffered: 0, dropped: 1, flushedSeconds: 1 });
  });
});

/** A stable and a canary record of second `S`, their flush in flight through a scripted pipeline. */
async function twoInFlight(S: number) {
  const clock = new ManualClock((S + 1) * 1000 + 200);
  const reg = new MetricsRegistry();
  reg.pool('web', 'stable').record(S * 1000, 200, 1);
  reg.pool('web', 'canary').record(S * 1000, 200, 1);
  const fake = scripted();
  const f = new MetricsFlusher({ registry: reg, redis: fake.redis, prefix: 'x', clock, flushTimeoutMs: 1_000 });
  const first = f.flushOnce();
  await waitFor(() => fake.commands.length > 0, { timeoutMs: 1_000, intervalMs: 5, what: 'the pipeline' });
  return { f, fake, first };
}

/** Flushes again, answered: the hashes the retry's increments went to. */
async function retried(f: MetricsFlusher, fake: ReturnType<typeof scripted>): Promise<string[]> {
  fake.commands.length = 0;
  const again = f.flushOnce();
  await waitFor(() => fake.commands.length > 0, { timeoutMs: 1_000, intervalMs: 5, what: 'the retry' });
  const keys = [...new Set(fake.commands.filter((c) => c[0] === 'hincrby').map((c) => c[1] as string))];
  fake.answer('all-ok');
  expect(await again).toBe('sent');
  return keys;
}

describe('what ioredis says of a flush with no Redis to send it to', () => {
  it('a standalone client with no connection refuses each command unsent: the records are resent later', async () => {
    const spec = ioredisOptions(parseRedisUrl(`redis://127.0.0.1:${await deadPort()}`), {
      commandTimeoutMs: 1_000,
      connectTimeoutMs: 1_000,
    });
    // As veer connects (it keeps reconnecting), to a port nothing listens on.
    const c = new Redis({ ...spec.options, lazyConnect: true });
    c.on('error', () => undefined);
    try {
      await c.connect().catch(() => undefined);
      const replies = await c.pipeline().hincrby('k', 'r', 1).expire('k', 60).exec();
      expect(replies?.map(([e]) => e?.message)).toEqual([
        "Stream isn't writeable and enableOfflineQueue options is false",
        "Stream isn't writeable and enableOfflineQueue options is false",
      ]);
      expect(surelyUnapplied(replies ?? [], 0, 2)).toBe(true);
    } finally {
      c.disconnect();
    }
  });
});
