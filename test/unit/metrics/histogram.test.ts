import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/domain/clock.js';
import {
  BUCKET_COUNT,
  BUCKET_RELATIVE_WIDTH,
  OVERFLOW_BUCKET,
  bucketIndex,
  bucketLowerBoundMs,
  bucketUpperBoundMs,
  nearestRank,
  quantileMs,
} from '../../../src/metrics/histogram.js';

const view = new DataView(new ArrayBuffer(8));
/** Next representable double above (positive) x. */
function nextUp(x: number): number {
  view.setFloat64(0, x);
  view.setBigUint64(0, view.getBigUint64(0) + 1n);
  return view.getFloat64(0);
}
function nextDown(x: number): number {
  view.setFloat64(0, x);
  view.setBigUint64(0, view.getBigUint64(0) - 1n);
  return view.getFloat64(0);
}

/** Reference implementation: binary search over the edges (what bucketIndex must agree with). */
function referenceIndex(x: number): number {
  if (!(x > bucketUpperBoundMs(0))) return 0;
  let lo = 0;
  let hi = OVERFLOW_BUCKET;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x <= bucketUpperBoundMs(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function histogramOf(samples: number[]): Uint32Array {
  const counts = new Uint32Array(BUCKET_COUNT);
  for (const s of samples) counts[bucketIndex(s)] = (counts[bucketIndex(s)] as number) + 1;
  return counts;
}

describe('bucket layout', () => {
  it('covers 0.05 ms … 120 s with ~250 buckets of bounded relative width', () => {
    expect(BUCKET_COUNT).toBeLessThanOrEqual(260);
    expect(OVERFLOW_BUCKET).toBe(BUCKET_COUNT - 1);
    expect(bucketUpperBoundMs(0)).toBe(0.05);
    expect(bucketUpperBoundMs(OVERFLOW_BUCKET - 1)).toBeGreaterThanOrEqual(120_000);
    expect(bucketUpperBoundMs(OVERFLOW_BUCKET)).toBe(Infinity);
    expect(BUCKET_RELATIVE_WIDTH).toBeLessThan(0.065);
    for (let i = 1; i < OVERFLOW_BUCKET; i++) {
      const ratio = bucketUpperBoundMs(i) / bucketUpperBoundMs(i - 1);
      expect(ratio).toBeGreaterThan(1.04);
      expect(ratio - 1).toBeLessThanOrEqual(BUCKET_RELATIVE_WIDTH);
    }
  });

  it('has the 1 / 2.5 / 5 × 10^n edges exactly, as decimal values', () => {
    const edges = new Set(Array.from({ length: OVERFLOW_BUCKET }, (_, i) => bucketUpperBoundMs(i)));
    for (const ms of [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 100_000]) {
      expect(edges.has(ms), `${ms} ms`).toBe(true);
    }
    // Pinned so that a change of layout (which would break merging with older replicas) is noticed.
    expect(BUCKET_COUNT).toBe(258);
    expect(bucketIndex(1)).toBe(52);
    expect(bucketUpperBoundMs(53)).toBe(1.06);
    expect(bucketUpperBoundMs(OVERFLOW_BUCKET - 1)).toBe(126_000);
  });

  it('rejects out-of-range indices', () => {
    expect(() => bucketUpperBoundMs(-1)).toThrow(RangeError);
    expect(() => bucketUpperBoundMs(BUCKET_COUNT)).toThrow(RangeError);
    expect(() => bucketUpperBoundMs(1.5)).toThrow(RangeError);
    expect(bucketLowerBoundMs(0)).toBe(0);
    expect(bucketLowerBoundMs(1)).toBe(0.05);
  });
});

describe('bucketIndex', () => {
  it('puts every edge in its own bucket and its neighbours on the right sides', () => {
    for (let i = 0; i < OVERFLOW_BUCKET; i++) {
      const edge = bucketUpperBoundMs(i);
      expect(bucketIndex(edge), `edge ${edge}`).toBe(i);
      expect(bucketIndex(nextUp(edge)), `above ${edge}`).toBe(i + 1);
      if (i > 0) expect(bucketIndex(nextDown(edge)), `below ${edge}`).toBe(i);
      if (i > 0) expect(bucketIndex(nextUp(bucketUpperBoundMs(i - 1)))).toBe(i);
    }
  });

  it('agrees with a binary search on 200k log-uniform values', () => {
    const rnd = seededRandom(7);
    for (let n = 0; n < 200_000; n++) {
      const x = 10 ** (-3 + rnd() * 10); // 1 µs … 10^7 ms
      const got = bucketIndex(x);
      if (got !== referenceIndex(x)) expect({ x, got }).toEqual({ x, got: referenceIndex(x) });
    }
  });

  it('maps tiny, negative and NaN to bucket 0 and huge values to the overflow bucket', () => {
    for (const x of [0, -0, 1e-300, Number.MIN_VALUE, 0.05, -1, -Infinity, NaN])
      expect(bucketIndex(x), String(x)).toBe(0);
    for (const x of [nextUp(126_000), 1e9, Number.MAX_VALUE, Infinity])
      expect(bucketIndex(x), String(x)).toBe(OVERFLOW_BUCKET);
    expect(bucketIndex(126_000)).toBe(OVERFLOW_BUCKET - 1);
  });
});

describe('quantileMs', () => {
  it('returns 0 for an empty histogram', () => {
    expect(quantileMs(new Uint32Array(BUCKET_COUNT), 0, 0.99)).toBe(0);
  });

  it('stays inside the bucket of a single sample, whatever q', () => {
    const counts = histogramOf([42]);
    const i = bucketIndex(42);
    for (const q of [-1, 0, 0.5, 1, 2, NaN]) {
      const est = quantileMs(counts, 1, q);
      expect(est).toBeGreaterThan(bucketLowerBoundMs(i));
      expect(est).toBeLessThanOrEqual(bucketUpperBoundMs(i));
      // A lone sample is placed mid-bucket rather than at an edge, halving the worst-case bias.
      expect(est).toBeCloseTo((bucketLowerBoundMs(i) + bucketUpperBoundMs(i)) / 2, 9);
    }
  });

  it('matches exact nearest-rank percentiles of a seeded sample within the bucket error bound', () => {
    const rnd = seededRandom(20240601);
    // Log-normal around 20 ms with a long tail, plus 2% of very slow requests.
    const samples = Array.from({ length: 50_000 }, () => {
      const gauss = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
      return rnd() < 0.02 ? 500 + rnd() * 5000 : 20 * Math.exp(gauss * 0.8);
    });
    const sorted = [...samples].sort((a, b) => a - b);
    const counts = histogramOf(samples);
    for (const q of [0.01, 0.1, 0.5, 0.9, 0.95, 0.975, 0.99, 0.999, 1]) {
      const exact = sorted[nearestRank(sorted.length, q) - 1] as number;
      const est = quantileMs(counts, samples.length, q);
      expect(bucketIndex(est), `q=${q}`).toBe(bucketIndex(exact));
      expect(Math.abs(est - exact) / exact, `q=${q} est=${est} exact=${exact}`).toBeLessThan(BUCKET_RELATIVE_WIDTH);
    }
  });

  it('has an absolute error below 0.05 ms in the first bucket and a lower bound in overflow', () => {
    const sub = histogramOf([0.001, 0.01, 0.02, 0.04]);
    expect(quantileMs(sub, 4, 0.5)).toBeLessThanOrEqual(0.05);
    const slow = histogramOf([200_000, 300_000]);
    expect(quantileMs(slow, 2, 0.99)).toBe(126_000);
  });

  it('uses the nearest-rank definition without float drift', () => {
    expect(nearestRank(100, 0.07)).toBe(7);
    expect(nearestRank(100, 0.99)).toBe(99);
    expect(nearestRank(10, 0)).toBe(1);
    expect(nearestRank(10, 1)).toBe(10);
    // 9 fast, 1 slow: p90 is a fast one, p91 the slow one.
    const counts = histogramOf([...Array<number>(9).fill(1), 1000]);
    expect(bucketIndex(quantileMs(counts, 10, 0.9))).toBe(bucketIndex(1));
    expect(bucketIndex(quantileMs(counts, 10, 0.91))).toBe(bucketIndex(1000));
  });

  it('survives a total larger than the counts by answering from the largest recorded bucket', () => {
    const counts = histogramOf([3, 7]);
    const est = quantileMs(counts, 10, 0.99);
    expect(bucketIndex(est)).toBe(bucketIndex(7));
  });
});
