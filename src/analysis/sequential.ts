// Sequential tests that may be looked at after every analysis without inflating the false-alarm
// rate. Each test keeps a running log-likelihood ratio per alternative on a fixed grid; their mean
// (a mixture likelihood ratio) is a test martingale under the null hypothesis, so by Ville's
// inequality P(it ever reaches 1/α) ≤ α however often it is checked. 1/Λ is therefore an
// "always-valid" p-value. The grids are wide because we do not know how bad a bad canary is.
//
// `cap` bounds what one block of data (one second) may add to each log-likelihood ratio. Failures
// come in clusters (an instance resetting its connections fails every request for a second or two),
// and a cluster is one event, not hundreds of independent ones. Capping an increment only lowers its
// expectation, so each ratio stays a supermartingale under H0 and Ville's bound still holds.

/** Canary error rate as multiples of the limit: p1 = k · p0 (capped below 1). */
export const RATE_MULTIPLES = [1.5, 2, 3, 5, 10, 20, 50];

/** Canary-vs-stable error-rate ratios r for the conditional test, and the mixture's weights: most
 *  weight near 2×, the subtle regressions that need it; blatant ones have evidence to spare. */
export const RATIOS = [1.5, 2, 3, 5, 10, 30];
export const RATIO_WEIGHTS = [0.4, 0.4, 0.1, 0.05, 0.03, 0.02];

/** A route's own error test looks for an endpoint that breaks: up to one failing wherever stable never does. */
export const ROUTE_RATIOS = [2, 5, 30, 1000];

/**
 * A failure rests on at least this many seconds of data (the `cap` of the updates below: no one
 * second may add as much as 1/(SECONDS_PER_FAILURE − 1) of the evidence it needs, see secondCaps), so a
 * burst of a second or two (one instance resetting its connections, one client's retries) is a blip.
 * Four, not three: with three, a two-second blip plus noise rolled back 0.7% of healthy canaries
 * and a 6 s warm-up 1.3% (bench:judge); the price is a second more to catch a blatant failure.
 */
export const SECONDS_PER_FAILURE = 4;

/** What one second may add to each log-likelihood ratio of a failure at level α, per kind of test. */
export interface SecondCaps {
  errors: number;
  latency: number;
}

/**
 * Seconds are whole, so any cap above a quarter and below a third of ln(1/α) keeps a failure on four
 * seconds and a confirmation (√α) on two. Errors get the midpoint: at exactly a quarter, a blatant
 * failure whose subtlest alternatives fall a hair short of the cap in some second (a 20%-error canary
 * at 15 requests per second) needed a fifth second, and its confirmation a third (rolled back after
 * 9-10 s instead of 7). Latency keeps exactly a quarter: a cold start disturbs it (a canary 3× slower
 * for its first 6 s), and at the midpoint such a warm-up was rolled back in 2.6% of runs (bench:judge).
 */
export function secondCaps(alpha: number): SecondCaps {
  const failure = Math.log(1 / alpha);
  return { errors: failure / (SECONDS_PER_FAILURE - 0.5), latency: failure / SECONDS_PER_FAILURE };
}

export const zeros = (n: number): number[] => new Array<number>(n).fill(0);

/**
 * One-sample test of H0: rate ≤ p0, fed with `failures` out of `n` new observations. Under H0 with
 * rate < p0 the statistic is a supermartingale, which keeps the guarantee.
 */
export function updateRateTest(logLR: number[], p0: number, n: number, failures: number, cap = Infinity): void {
  if (n <= 0 || p0 <= 0 || p0 >= 1) return;
  const ok = n - failures;
  for (let j = 0; j < RATE_MULTIPLES.length; j++) {
    const p1 = Math.min(0.999, (RATE_MULTIPLES[j] as number) * p0);
    if (p1 <= p0) continue;
    const step = failures * Math.log(p1 / p0) + ok * Math.log((1 - p1) / (1 - p0));
    logLR[j] = (logLR[j] as number) + Math.min(step, cap);
  }
}

/**
 * Conditional test of H0: canary error rate ≤ stable error rate. Given that an error happened, it
 * came from the canary with probability s (the canary's share of requests) under H0, and with
 * probability q = r·s / (r·s + 1 − s) if the canary fails r times as often. Conditioning on the
 * errors makes the test independent of the (unknown) baseline rate, so a platform-wide incident
 * that hits both pools alike produces no evidence against the canary.
 */
export function updateRatioTest(
  logLR: number[],
  canaryN: number,
  canaryErr: number,
  stableN: number,
  stableErr: number,
  cap = Infinity,
  ratios: readonly number[] = RATIOS,
): void {
  if (canaryN <= 0 || stableN <= 0 || canaryErr + stableErr === 0) return;
  const s = canaryN / (canaryN + stableN);
  for (let j = 0; j < ratios.length; j++) {
    const r = ratios[j] as number;
    const q = (r * s) / (r * s + 1 - s);
    const step = canaryErr * Math.log(q / s) + stableErr * Math.log((1 - q) / (1 - s));
    logLR[j] = (logLR[j] as number) + Math.min(step, cap);
  }
}

/**
 * log of the mixture likelihood ratio, computed without overflow. `weights` (summing to 1) default
 * to equal; any fixed weights keep the mixture a test martingale.
 */
export function mixtureLogLR(logLR: readonly number[], weights?: readonly number[]): number {
  if (logLR.length === 0) return 0;
  let max = -Infinity;
  for (const v of logLR) if (v > max) max = v;
  let sum = 0;
  for (let j = 0; j < logLR.length; j++)
    sum += (weights?.[j] ?? 1 / logLR.length) * Math.exp((logLR[j] as number) - max);
  return max + Math.log(sum);
}

/** Always-valid p-value: min(1, 1/Λ). */
export function pValue(logLR: readonly number[], weights?: readonly number[]): number {
  return Math.min(1, Math.exp(-mixtureLogLR(logLR, weights)));
}
