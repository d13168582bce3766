// Latency checks are run as rate tests on "requests slower than a threshold": a p99 within the
// limit means at most 1% of requests exceed it. A bucket that straddles the threshold counts by the
// share of its width above it (the same linear reading quantileMs gives a p99 inside a bucket), so a
// check never calls a canary whose reported p99 is over its limit "within" it; the sum stays exact to
// merge across replicas.
import { BUCKET_COUNT, bucketLowerBoundMs, bucketUpperBoundMs, OVERFLOW_BUCKET } from '../metrics/histogram.js';

export const P99_SHARE = 0.01;

/** A p99 estimated from fewer samples is noise. */
export const MIN_P99_SAMPLES = 100;

/** Requests whose latency is above `thresholdMs` (fractional: a straddling bucket counts in part). */
export function countAbove(latency: ArrayLike<number>, thresholdMs: number): number {
  let n = 0;
  // Bucket 0 (at or under the first edge) is fast by any threshold veer judges with.
  for (let i = 1; i < BUCKET_COUNT; i++) {
    const c = latency[i] as number;
    if (!(c > 0)) continue;
    const lower = bucketLowerBoundMs(i);
    if (lower >= thresholdMs) n += c;
    else if (i !== OVERFLOW_BUCKET) {
      const upper = bucketUpperBoundMs(i);
      if (upper > thresholdMs) n += (c * (upper - thresholdMs)) / (upper - lower);
    }
  }
  return n;
}

export function total(latency: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < latency.length; i++) n += latency[i] as number;
  return n;
}
