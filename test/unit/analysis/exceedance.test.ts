import { describe, expect, it } from 'vitest';
import { countAbove, P99_SHARE, total } from '../../../src/analysis/exceedance.js';
import { BUCKET_COUNT, bucketIndex, OVERFLOW_BUCKET } from '../../../src/metrics/histogram.js';

function hist(samples: ReadonlyArray<readonly [ms: number, count: number]>): number[] {
  const h = new Array<number>(BUCKET_COUNT).fill(0);
  for (const [ms, n] of samples) h[bucketIndex(ms)] = (h[bucketIndex(ms)] as number) + n;
  return h;
}

describe('countAbove', () => {
  it('counts only buckets whose lower edge is at or above the threshold', () => {
    // Edges around 800 ms: 750, 794, 841, 891. 800 and 841 fall in (794, 841], which straddles 800.
    const h = hist([
      [5, 1000],
      [800, 7],
      [841, 3],
      [842, 2],
      [900, 4],
      [200_000, 1],
    ]);
    expect(countAbove(h, 800)).toBe(2 + 4 + 1);
    // A threshold on an edge: (794, 841] lies entirely above 794.
    expect(countAbove(h, 794)).toBe(7 + 3 + 2 + 4 + 1);
    expect(countAbove(h, 1e9)).toBe(0);
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
