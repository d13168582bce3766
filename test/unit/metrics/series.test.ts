import { describe, expect, it } from 'vitest';
import { BUCKET_COUNT, bucketIndex, quantileMs } from '../../../src/metrics/histogram.js';
import { settledSecond } from '../../../src/domain/second.js';
import { MAX_CATCH_UP, SeriesBook, type SecondSource } from '../../../src/metrics/series-book.js';
import { localSeconds } from '../../../src/metrics/series-source.js';
import { MetricsRegistry } from '../../../src/metrics/registry.js';
import { RECENT_SECONDS, SeriesRing } from '../../../src/metrics/series.js';

/** `n` requests of `ms` each, `errors` of them failed. */
function second(n: number, ms: number, errors = 0) {
  const latency = new Uint32Array(BUCKET_COUNT);
  latency[bucketIndex(ms)] = n;
  return { requests: n, errors, latency };
}
const idle = () => second(0, 0);

describe('SeriesRing', () => {
  it('keeps per-second figures per pool, null where a second is missing', () => {
    const ring = new SeriesRing(10);
    ring.put(100, { stable: second(50, 20, 1), canary: second(5, 40) });
    ring.put(102, { stable: second(60, 20), canary: idle() });
    const c = ring.columns(100, 102);
    expect(c.t).toEqual([100, 101, 102]);
    expect(c.stable.requests).toEqual([50, null, 60]);
    expect(c.stable.errors).toEqual([1, null, 0]);
    expect(c.canary.requests).toEqual([5, null, 0]);
    expect(c.canary.p99Ms[0]).toBeCloseTo(quantileMs(second(5, 40).latency, 5, 0.99));
    expect(c.canary.p50Ms[2]).toBe(0);
    expect([ring.oldest(), ring.size]).toEqual([100, 10]);
  });

  it('holds the newest `size` seconds: an old lap is never read as a new one', () => {
    const ring = new SeriesRing(5);
    for (let s = 1000; s < 1012; s++) ring.put(s, { stable: second(s - 1000, 1), canary: idle() });
    const c = ring.columns(1000, 1011);
    expect(c.t).toEqual([1007, 1008, 1009, 1010, 1011]);
    expect(c.stable.requests).toEqual([7, 8, 9, 10, 11]);
    expect(ring.columns(1012, 1013).stable.requests).toEqual([null, null]);
    expect(ring.oldest()).toBe(1007);
  });

  it('quotes the last seconds over their merged histogram, not an average of per-second p99s', () => {
    const ring = new SeriesRing(30);
    // 9 quiet seconds at 10 ms and one with 100 slow requests: the merged p99 is the slow one.
    for (let s = 0; s < 9; s++) ring.put(2000 + s, { stable: second(100, 10), canary: idle() });
    ring.put(2009, { stable: second(100, 900, 10), canary: idle() });
    const r = ring.recent('stable', 2009);
    expect(r.seconds).toBe(RECENT_SECONDS);
    expect(r.rps).toBe(100);
    expect(r.errorRate).toBeCloseTo(10 / 1000);
    const merged = new Uint32Array(BUCKET_COUNT);
    merged[bucketIndex(10)] = 900;
    merged[bucketIndex(900)] = 100;
    expect(r.p99Ms).toBe(quantileMs(merged, 1000, 0.99));
    expect(ring.recent('canary', 2009)).toEqual({ seconds: 10, rps: 0, errorRate: 0, p99Ms: 0 });
    // Seconds that were not recorded are not counted as idle ones.
    expect(ring.recent('stable', 2013).seconds).toBe(6);
  });
});

function fakeSource(settleMs = 0): SecondSource & { calls: number[]; fail: boolean } {
  const src = {
    kind: 'local' as const,
    settleMs,
    calls: [] as number[],
    fail: false,
    seconds: async (services: readonly string[], sec: number) => {
      src.calls.push(sec);
      if (src.fail) throw new Error('down');
      return new Map(services.map((s) => [s, { stable: second(sec % 100, 5), canary: idle() }]));
    },
  };
  return src;
}

describe('SeriesBook', () => {
  it('records each settled second once, catching up at most MAX_CATCH_UP per tick', async () => {
    let now = 100_500;
    const source = fakeSource(200);
    const names = ['web'];
    const book = new SeriesBook({ source, clock: { now: () => now }, services: () => names });
    const heard: number[] = [];
    book.onSecond((s) => heard.push(s));
    expect(settledSecond(now, 200)).toBe(99);
    await book.tick();
    expect(source.calls).toEqual([95, 96, 97, 98, 99].slice(-MAX_CATCH_UP));
    await book.tick();
    expect(source.calls).toHaveLength(5);
    now += 1000;
    await book.tick();
    expect(source.calls.at(-1)).toBe(100);
    expect(heard).toEqual([95, 96, 97, 98, 99, 100]);
    expect(book.ring('web')?.columns(99, 100).stable.requests).toEqual([99, 0]);
    expect(book.newest).toBe(100);
  });

  it('retries a second the source could not give, and forgets removed services', async () => {
    let now = 50_300;
    const source = fakeSource(0);
    let names = ['web', 'api'];
    const book = new SeriesBook({ source, clock: { now: () => now }, services: () => names });
    await book.tick();
    source.fail = true;
    now += 1000;
    expect(await book.tick()).toBe(false);
    expect(book.newest).toBe(49);
    source.fail = false;
    names = ['web'];
    expect(await book.tick()).toBe(true);
    expect(book.newest).toBe(50);
    expect(book.ring('api')).toBeUndefined();
    expect(book.ring('web')?.columns(49, 50).stable.requests).toEqual([49, 50]);
  });

  it('reads this replica own windows when it is alone', async () => {
    const registry = new MetricsRegistry({ seconds: 60 });
    const w = registry.pool('web', 'canary');
    for (let i = 0; i < 7; i++) w.record(30_000 + i, i === 0 ? 503 : 200, 12);
    const got = await localSeconds(registry).seconds(['web'], 30);
    expect(got.get('web')?.canary).toMatchObject({ requests: 7, errors: 1 });
    expect(got.get('web')?.stable.requests).toBe(0);
  });
});
