// The bench's reading of veer's loop over one measured phase: the difference of two cumulative scrapes,
// so samples from before the phase (start-up, the warm-up) never count, and each quantile is the bound
// of the bucket it falls in.
import { describe, expect, it } from 'vitest';
import { latenessBetween } from '../../../bench/lateness.mjs';

type Rows = Array<{ le: number; count: number }>;
const rows = (counts: number[]): Rows =>
  [0.001, 0.005, 0.02, 0.1, Infinity].map((le, i) => ({ le, count: counts[i] as number }));

describe('latenessBetween', () => {
  it('counts only what happened between the scrapes', () => {
    // Before: 500 samples, 10 of them 20–100 ms late (a warm-up). After: 1,000 more, one of them 5–20 ms late.
    const before = rows([480, 485, 490, 500, 500]);
    const after = rows([1470, 1484, 1490, 1500, 1500]);
    const l = latenessBetween(before, after);
    expect(l).toEqual({
      samples: 1000,
      p50UpToMs: 1,
      p99UpToMs: 1,
      p999UpToMs: 5,
      maxUpToMs: 20,
      laterThan: [
        { ms: 1, share: 0.01 },
        { ms: 5, share: 0.001 },
        { ms: 20, share: 0 },
      ],
    });
  });

  it('a sample above the last edge reads as unbounded; no samples or a missing scrape read as null', () => {
    const l = latenessBetween(rows([0, 0, 0, 0, 0]), rows([99, 99, 99, 99, 100]));
    expect([l?.p99UpToMs, l?.maxUpToMs]).toEqual([1, Infinity]);
    expect(latenessBetween(rows([5, 5, 5, 5, 5]), rows([5, 5, 5, 5, 5]))).toBeNull();
    expect(latenessBetween(null, rows([1, 1, 1, 1, 1]))).toBeNull();
    // veer restarted between the scrapes (fewer in a bucket than before), or other buckets: nothing to read.
    expect(latenessBetween(rows([50, 60, 60, 60, 60]), rows([10, 10, 10, 10, 100]))).toBeNull();
    const other = rows([0, 0, 0, 0, 0]).map((r, i) => (i === 0 ? { ...r, le: 0.0005 } : r));
    expect(latenessBetween(other, rows([9, 9, 9, 9, 9]))).toBeNull();
  });
});
