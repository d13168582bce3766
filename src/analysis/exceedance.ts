// Latency checks are run as rate tests on "requests slower than a threshold": a p99 within the
// limit means at most 1% of requests exceed it. Counting whole histogram buckets that lie above the
// threshold is conservative (a straddling bucket is not counted), and exact to merge across replicas.
import { BUCKET_COUNT, bucketUpperBoundMs } from '../metrics/histogram.js';

export const P99_SHARE = 0.01;

/** A p99 estimated from fewer samples is noise. */
export const MIN_P99_SAMPLES = 100;

/** Requests whose latency is certainly above `thresholdMs`. */
export function countAbove(latency: ArrayLike<number>, thresholdMs: number): number {
  let n = 0;
  // A bucket is certainly above when its lower edge (the previous bucket's upper bound) is ≥ threshold.
  for (let i = 1; i < BUCKET_COUNT; i++) {
    if (bucketUpperBoundMs(i - 1) >= thresholdMs) n += latency[i] as number;
  }
  return n;
}

export function total(latency: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < latency.length; i++) n += latency[i] as number;
  return n;
}
