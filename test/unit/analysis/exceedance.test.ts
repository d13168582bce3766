import { describe, expect, it } from 'vitest';
import { countAbove, P99_SHARE, total } from '../../../src/analysis/exceedance.js';
import {
  BUCKET_COUNT,
  bucketIndex,
  bucketLowerBoundMs,
  bucketUpperBoundMs,
  OVERFLOW_BUCKET,
  quantileMs,
} from '../../../src/metrics/histogram.js';

function hist(samples: ReadonlyArray<readonly [ms: number, count: number]>): number[] {
  const h = new Array<number>(BUCKET_COUNT).fill(0);
  for (const [ms, n] of samples) h[bucketIndex(ms)] = (h[bucketIndex(ms)] as number) + n;
  return h;
}

describe('countAbove', () => {
  it('counts buckets above the threshold whole, and a straddling one by its share above it', () => {
    // Edges around 800 ms: 750, 794, 841, 891. 800 and 841 fall in (794, 841], which straddles 800.
    const h = hist([
      [5, 1000],
      [800, 7],
      [841, 3],
      [842, 2],
      [900, 4],
      [200_000, 1],
    ]);
    const i = bucketIndex(800);
    const [lower, upper] = [bucketLowerBoundMs(i), bucketUpperBoundMs(i)];
    expect(lower).toBeLessThan(800);
    expect(countAbove(h, 800)).toBeCloseTo(2 + 4 + 1 + (7 + 3) * ((upper - 800) / (upper - lower)), 9);
    // A threshold on an edge: (794, 841] lies entirely above 794.
    expect(countAbove(h, lower)).toBe(7 + 3 + 2 + 4 + 1);
    expect(countAbove(h, upper)).toBe(2 + 4 + 1);
    expect(countAbove(h, 1e9)).toBe(0);
  });

  it('calls a tail over the limit when the p99 it gives is over the limit (830 ms against 800)', () => {
    const h = hist([[830, 1000]]);
    expect(quantileMs(h, 1000, 0.99)).toBeGreaterThan(800);
    expect(countAbove(h, 800) / 1000).toBeGreaterThan(P99_SHARE);
  });

  it('counts the overflow bucket and nothing in bucket 0', () => {
    const h = new Array<number>(BUCKET_COUNT).fill(0);
    h[0] = 50;
    h[OVERFLOW_BUCKET] = 3;
    expect(countAbove(h, 0)).toBe(3);
    expect(total(h)).toBe(53);
  });

  it('is a rate test on the 1% tail', () => {
    expect(P99_SHARE).toBe(0.01);
  });
});
