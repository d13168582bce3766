// Latency histogram with fixed bucket edges that are literally the same in every veer process:
// counts from several replicas (and from several seconds) can then be added bucket by bucket, and
// the merged histogram is exactly the one a single process would have built from all the requests.
//
// Edges are log-spaced, 40 per decade (a ratio of ~10^(1/40) ≈ 1.059 between neighbours), from
// 0.05 ms to 126 s, plus an overflow bucket. The per-decade mantissas are 10^(k/40) rounded to three
// significant digits, with 2.51 → 2.50 and 5.01 → 5.00 so that the 1 / 2.5 / 5 × 10^n edges people
// put on Prometheus dashboards are real bucket edges. Every edge is parsed from a decimal string, never
// computed with floating-point powers, so no engine or platform can disagree about an edge.
//
// Bucket i holds latencies in (edge[i-1], edge[i]] (bucket 0 holds everything ≤ 0.05 ms, including
// NaN and negative inputs; the last bucket everything above 126 s). Fewer than 5% wider buckets would
// need ~300 buckets for this range; at ~1 KiB per second of history per pool, 258 was the trade.
//
// Error bound of quantileMs: the estimate lies in the bucket that holds the true nearest-rank sample,
// so its relative error is below BUCKET_RELATIVE_WIDTH (< 6.5%, typically ~3% with interpolation);
// below 0.05 ms the absolute error is < 0.05 ms; in the overflow bucket the estimate is 126 s, a
// lower bound of the true value.

const STEPS_PER_DECADE = 40;
const MANTISSAS: readonly number[] = [
  100, 106, 112, 119, 126, 133, 141, 150, 158, 168, 178, 188, 200, 211, 224, 237, 250, 266, 282, 299, 316, 335, 355,
  376, 398, 422, 447, 473, 500, 531, 562, 596, 631, 668, 708, 750, 794, 841, 891, 944,
];
/** Global step numbers (decade × 40 + mantissa index) of the first and last finite edge, in ms. */
const FIRST_STEP = -2 * STEPS_PER_DECADE + 28; // 5.00e-2 ms
const LAST_STEP = 5 * STEPS_PER_DECADE + 4; // 1.26e5 ms

function edgeAtStep(step: number): number {
  const decade = Math.floor(step / STEPS_PER_DECADE);
  const mantissa = MANTISSAS[step - decade * STEPS_PER_DECADE] as number;
  // Mantissas carry two decimals, so "126e3" is 1.26 × 10^5.
  return Number(`${mantissa}e${decade - 2}`);
}

const FINITE_COUNT = LAST_STEP - FIRST_STEP + 1;
const EDGES = new Float64Array(FINITE_COUNT);
for (let i = 0; i < FINITE_COUNT; i++) EDGES[i] = edgeAtStep(FIRST_STEP + i);

/** Number of buckets, the overflow bucket included. */
export const BUCKET_COUNT = FINITE_COUNT + 1;
/** Index of the bucket for latencies above the last finite edge. */
export const OVERFLOW_BUCKET = FINITE_COUNT;
const LAST_FINITE = FINITE_COUNT - 1;
const FIRST_EDGE = EDGES[0] as number;
const LAST_EDGE = EDGES[LAST_FINITE] as number;

/** Largest (upper / lower − 1) over the finite buckets above the first: the quantile error bound. */
export const BUCKET_RELATIVE_WIDTH = maxRelativeWidth();

function maxRelativeWidth(): number {
  let max = 0;
  for (let i = 1; i < FINITE_COUNT; i++) {
    max = Math.max(max, (EDGES[i] as number) / (EDGES[i - 1] as number) - 1);
  }
  return max;
}

/** Inclusive upper edge of bucket `i` in ms; Infinity for the overflow bucket. */
export function bucketUpperBoundMs(i: number): number {
  if (!Number.isInteger(i) || i < 0 || i >= BUCKET_COUNT) {
    throw new RangeError(`bucket index out of range: ${i}`);
  }
  return i === OVERFLOW_BUCKET ? Infinity : (EDGES[i] as number);
}

/** Exclusive lower edge of bucket `i` in ms (0 for the first bucket). */
export function bucketLowerBoundMs(i: number): number {
  return i === 0 ? 0 : bucketUpperBoundMs(i - 1);
}

/** O(1): one log10 for the guess, one comparison to correct it. No allocation. */
export function bucketIndex(latencyMs: number): number {
  if (!(latencyMs > FIRST_EDGE)) return 0; // also NaN and negatives
  if (latencyMs > LAST_EDGE) return OVERFLOW_BUCKET;
  let i = Math.ceil(Math.log10(latencyMs) * STEPS_PER_DECADE) - FIRST_STEP;
  if (i < 1) i = 1;
  else if (i > LAST_FINITE) i = LAST_FINITE;
  // Rounded mantissas sit less than 0.1 step off the ideal 10^(k/40), so the guess is off by at
  // most one bucket and a single comparison settles it.
  if (latencyMs > (EDGES[i] as number)) i++;
  else if (latencyMs <= (EDGES[i - 1] as number)) i--;
  return i;
}

/**
 * Nearest-rank quantile estimate in ms: the bucket holding the ⌈q·total⌉-th smallest sample is found
 * and the value interpolated linearly inside it (at the middle of that sample's share of the bucket).
 * Returns 0 when `total` is 0. `q` is clamped to [0, 1].
 */
export function quantileMs(counts: ArrayLike<number>, total: number, q: number): number {
  if (!(total > 0)) return 0;
  const rank = nearestRank(total, q);
  let seen = 0;
  let lastNonEmpty = -1;
  const n = Math.min(counts.length, BUCKET_COUNT);
  for (let i = 0; i < n; i++) {
    const c = counts[i] as number;
    if (!(c > 0)) continue;
    if (seen + c >= rank) return interpolate(i, (rank - seen - 0.5) / c);
    seen += c;
    lastNonEmpty = i;
  }
  // `total` exceeded the counts (an inconsistent caller): the largest recorded bucket is the best answer.
  return lastNonEmpty < 0 ? 0 : interpolate(lastNonEmpty, 1);
}

/** 1-based rank of the nearest-rank q-quantile among `total` samples. */
export function nearestRank(total: number, q: number): number {
  const p = q > 1 ? 1 : q > 0 ? q : 0;
  const exact = p * total;
  // Shave float noise (0.07 × 100 = 7.000000000000001) so the rank is not pushed one too far.
  return Math.max(1, Math.ceil(exact - exact * 1e-12));
}

function interpolate(i: number, fraction: number): number {
  const lower = bucketLowerBoundMs(i);
  if (i === OVERFLOW_BUCKET) return lower;
  return lower + (bucketUpperBoundMs(i) - lower) * fraction;
}
