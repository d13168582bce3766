import { GCProfiler } from 'node:v8';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { seededRandom } from '../../../src/domain/clock.js';
import { BUCKET_COUNT, bucketIndex, quantileMs } from '../../../src/metrics/histogram.js';
import { POOL_ONLY, PoolWindow, addTotals, emptyTotals, type WindowTotals } from '../../../src/metrics/window.js';

const T0 = 1_700_000_000_000; // an epoch second boundary (ms)

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] as number;
  return s;
}

function counts(t: WindowTotals) {
  return {
    requests: t.requests,
    errors: t.errors,
    connectErrors: t.connectErrors,
    timeouts: t.timeouts,
    broken: t.broken,
    observed: sum(t.latency),
  };
}

afterEach(() => vi.restoreAllMocks());

describe('PoolWindow recording', () => {
  it('counts requests, 5xx as errors, and proxy failures by kind', () => {
    const w = new PoolWindow();
    w.record(T0, 200, 10);
    w.record(T0 + 1, 499, 10);
    w.record(T0 + 2, 500, 20);
    w.record(T0 + 3, 503, 30);
    w.recordFailure(T0 + 4, 'connect', 1);
    w.recordFailure(T0 + 5, 'timeout', 30_000);
    w.recordFailure(T0 + 6, 'broken', 15);
    const t = w.totals(T0, T0 + 999);
    expect(counts(t)).toEqual({ requests: 7, errors: 5, connectErrors: 1, timeouts: 1, broken: 1, observed: 7 });
    expect(t.latency[bucketIndex(10)]).toBe(2);
    expect(t.latency[bucketIndex(30_000)]).toBe(1);
  });

  it('never reads the wall clock', () => {
    const spy = vi.spyOn(Date, 'now').mockImplementation(() => {
      throw new Error('Date.now called');
    });
    const w = new PoolWindow({ seconds: 5 });
    w.record(T0, 200, 1);
    w.recordFailure(T0, 'timeout', 1);
    expect(w.totals(T0, T0).requests).toBe(2);
    expect(spy).not.toHaveBeenCalled();
  });

  it('does not allocate on the hot path (no GC during 2M records, while an allocating loop triggers some)', () => {
    const w = new PoolWindow({ seconds: 60 });
    let sink: unknown;
    const burst = (n: number, allocate: boolean) => {
      for (let i = 0; i < n; i++) {
        // Crosses ~2000 seconds, so slot resets are exercised too.
        w.record(T0 + i, i % 7 === 0 ? 503 : 200, (i % 5000) * 0.37);
        if (i % 50 === 0) w.recordFailure(T0 + i, i % 100 === 0 ? 'connect' : 'timeout', i % 977);
        if (allocate) sink = { i };
      }
    };
    const gcsDuring = (allocate: boolean) => {
      const profiler = new GCProfiler();
      profiler.start();
      burst(2_000_000, allocate);
      return profiler.stop().statistics.length;
    };
    burst(200_000, false); // let the JIT settle first
    // A hot path that allocated even 16 bytes a record would collect in every 2M-record burst (32 MB, past
    // the young generation), so one clean burst proves it does not (a GC another part of the worker starts
    // is not ours). Up to ten, until one is clean: on a loaded host the optimizing compiler (a background
    // thread) may not have finished for the first bursts, whose unoptimized code boxes numbers (ci78 on the
    // LTS read 7, 8, 8 GCs in the three bursts it then took).
    const quiet: number[] = [];
    while (quiet.length < 10 && !quiet.includes(0)) quiet.push(gcsDuring(false));
    expect(Math.min(...quiet), `GCs per burst: ${quiet.join(', ')}`).toBe(0);
    expect(gcsDuring(true)).toBeGreaterThan(0); // the probe can see allocation
    expect(sink).toBeDefined();
  });

  it('rejects a non-positive ring size', () => {
    expect(() => new PoolWindow({ seconds: 0 })).toThrow(RangeError);
    expect(() => new PoolWindow({ seconds: 2.5 })).toThrow(RangeError);
    expect(new PoolWindow().size).toBe(900);
  });
});

describe('PoolWindow time', () => {
  it('sums whole seconds over a range and leaves out seconds outside it', () => {
    const w = new PoolWindow({ seconds: 60 });
    for (let s = 0; s < 10; s++) for (let k = 0; k <= s; k++) w.record(T0 + s * 1000 + k, 200, 5);
    // seconds 3..5 hold 4 + 5 + 6 requests; a range ending mid-second includes that second.
    expect(w.totals(T0 + 3000, T0 + 5000).requests).toBe(15);
    expect(w.totals(T0 + 3999, T0 + 5001).requests).toBe(15);
    expect(w.totals(T0, T0 + 9999).requests).toBe(55);
    expect(w.totals(T0 + 5000, T0 + 3000).requests).toBe(0);
    expect(w.totals(NaN, T0).requests).toBe(0);
  });

  it('expires seconds as time moves on', () => {
    const w = new PoolWindow({ seconds: 10 });
    w.record(T0, 500, 5);
    w.record(T0 + 4000, 200, 5);
    const lastFive = (now: number) => w.totals(now - 4000, now); // the 5 seconds ending with now's
    expect(lastFive(T0 + 4000).requests).toBe(2);
    expect(lastFive(T0 + 5000).requests).toBe(1);
    expect(lastFive(T0 + 9000).requests).toBe(0);
  });

  it('does not leak old counts into a window after a long quiet gap that lands on the same slot', () => {
    const w = new PoolWindow({ seconds: 10 });
    for (let i = 0; i < 7; i++) w.record(T0 + 3000, 500, 5);
    const later = T0 + 3000 + 10_000 * 37; // exactly 37 laps later: same slot, different second
    w.record(later, 200, 5);
    expect(counts(w.totals(later - 9999, later))).toEqual({
      requests: 1,
      errors: 0,
      connectErrors: 0,
      timeouts: 0,
      broken: 0,
      observed: 1,
    });
    // Reading without writing after a gap must not see the old slot either.
    const quiet = new PoolWindow({ seconds: 10 });
    quiet.record(T0, 500, 5);
    expect(quiet.totals(T0 + 10_000, T0 + 10_000).requests).toBe(0);
    expect(quiet.totals(T0 + 1000, T0 + 19_999).requests).toBe(0);
    expect(quiet.seconds(T0 / 1000 + 10, T0 / 1000 + 10)).toEqual([]);
  });

  it('wraps around the ring keeping exactly the last `seconds` seconds', () => {
    const w = new PoolWindow({ seconds: 10 });
    for (let s = 0; s < 25; s++) w.record(T0 + s * 1000, s % 2 === 0 ? 200 : 500, 5);
    const now = T0 + 24_000;
    const all = w.totals(T0, now); // asks for 25 s, the ring holds 10 (seconds 15..24)
    expect(all.requests).toBe(10);
    expect(all.errors).toBe(5);
    expect(w.seconds(T0 / 1000, now / 1000).map((r) => r.sec - T0 / 1000)).toEqual([
      15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
    ]);
    expect(w.lifetime().requests).toBe(25);
  });

  it('keeps lifetime totals and the latency sum across ring resets', () => {
    const w = new PoolWindow({ seconds: 2 });
    w.record(T0, 200, 10);
    w.record(T0 + 5000, 502, 20.5);
    w.recordFailure(T0 + 9000, 'connect', 0.5);
    w.record(T0 + 9000, 200, NaN);
    const life = w.lifetime();
    expect(life).toMatchObject({ requests: 4, errors: 2, connectErrors: 1, timeouts: 0, latencySumMs: 31 });
    expect(sum(life.latency)).toBe(4);
    expect(w.totals(T0, T0 + 9000).requests).toBe(2);
  });
});

describe('PoolWindow merge', () => {
  it('merges replicas exactly: three windows merged equal one window that saw everything', () => {
    const rnd = seededRandom(42);
    const parts = [
      new PoolWindow({ seconds: 120 }),
      new PoolWindow({ seconds: 120 }),
      new PoolWindow({ seconds: 120 }),
    ];
    const whole = new PoolWindow({ seconds: 120 });
    let t = T0;
    for (let n = 0; n < 20_000; n++) {
      t += Math.floor(rnd() * 10); // ~100 s of traffic
      const latency = 2 + rnd() ** 4 * 3000;
      const roll = rnd();
      const part = parts[Math.floor(rnd() * 3)] as PoolWindow;
      for (const w of [part, whole]) {
        if (roll < 0.01) w.recordFailure(t, 'connect', latency);
        else if (roll < 0.02) w.recordFailure(t, 'timeout', latency);
        else w.record(t, roll < 0.05 ? 503 : 200, latency);
      }
    }
    const merged = new PoolWindow({ seconds: 120 });
    for (const p of parts)
      for (const rec of p.seconds(T0 / 1000, t / 1000)) expect(merged.mergeSecond(rec)).toBe('merged');

    const a = merged.totals(T0, t);
    const b = whole.totals(T0, t);
    expect(b.requests).toBe(20_000);
    expect(counts(a)).toEqual(counts(b));
    expect(Array.from(a.latency)).toEqual(Array.from(b.latency));
    for (const q of [0.5, 0.95, 0.99])
      expect(quantileMs(a.latency, a.requests, q)).toBe(quantileMs(b.latency, b.requests, q));
    // A sub-range too, and merge does not count as this process's own traffic.
    expect(counts(merged.totals(t - 30_000, t))).toEqual(counts(whole.totals(t - 30_000, t)));
    expect(merged.lifetime().requests).toBe(0);
  });

  it("merged seconds keep every client each part attributed, not the first report's four", () => {
    const [a, b, whole] = [new PoolWindow(), new PoolWindow(), new PoolWindow()];
    const fail = (w: PoolWindow, ms: number, client: number) => w.record(T0 + ms, 502, 5, POOL_ONLY, client);
    // Client 7 fails first and most, all on part b; clients 1-4 once each, later, on part a.
    for (let i = 0; i < 20; i++) for (const w of [b, whole]) fail(w, 10 + i * 10, 7);
    for (let c = 1; c <= 4; c++) for (const w of [a, whole]) fail(w, 500 + c, c);
    expect(whole.totals(T0, T0 + 999).clients).toEqual({ 7: 20, 1: 1, 2: 1, 3: 1 });
    const merged = new PoolWindow({ seconds: 60 });
    for (const p of [a, b]) for (const rec of p.seconds(T0 / 1000, T0 / 1000)) merged.mergeSecond(rec);
    const t = merged.totals(T0, T0 + 999);
    expect(t.clients).toEqual({ 1: 1, 2: 1, 3: 1, 4: 1, 7: 20 });
    expect(t.errors).toBe(24);
    // The slot's next second (60 s on) starts empty, the merged clients past four too.
    for (const rec of a.seconds(T0 / 1000, T0 / 1000)) merged.mergeSecond({ ...rec, sec: T0 / 1000 + 60 });
    expect(merged.totals(T0 + 60_000, T0 + 60_999).clients).toEqual({ 1: 1, 2: 1, 3: 1, 4: 1 });
  });

  it('drops a late record whose slot already holds a newer second, and rejects foreign layouts', () => {
    const w = new PoolWindow({ seconds: 10 });
    const sec = T0 / 1000;
    w.record((sec + 10) * 1000, 200, 5);
    const old = { sec, ...emptyTotals(), requests: 3 };
    expect(w.mergeSecond(old)).toBe('stale');
    expect(w.mergeSecond({ ...old, latency: new Uint32Array(BUCKET_COUNT - 1) })).toBe('incompatible');
    expect(w.mergeSecond({ ...old, sec: sec + 0.5 })).toBe('incompatible');
    expect(w.totals(sec * 1000, (sec + 10) * 1000).requests).toBe(1);
    // A plain array (as after JSON) merges as well as a typed one.
    const latency = Array.from({ length: BUCKET_COUNT }, (_, i) => (i === 3 ? 2 : 0));
    const rec = { sec: sec + 11, requests: 3, errors: 2, connectErrors: 0, timeouts: 1, broken: 1, latency };
    expect(w.mergeSecond(rec)).toBe('merged');
    expect(counts(w.totals((sec + 11) * 1000, (sec + 11) * 1000))).toEqual({
      requests: 3,
      errors: 2,
      connectErrors: 0,
      timeouts: 1,
      broken: 1,
      observed: 2,
    });
  });

  it('addTotals adds counts and histograms', () => {
    const a = emptyTotals();
    const b = { ...emptyTotals(), requests: 3, errors: 2, connectErrors: 1, timeouts: 0, broken: 1 };
    b.latency[5] = 3;
    addTotals(a, b);
    addTotals(a, b);
    expect(counts(a)).toEqual({ requests: 6, errors: 4, connectErrors: 2, timeouts: 0, broken: 2, observed: 6 });
    expect(a.latency[5]).toBe(6);
  });
});
