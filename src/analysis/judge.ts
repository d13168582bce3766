// The judge: one analysis of the canary against absolute limits and against the stable pool
// measured over the same time. Pure: it returns the verdict and the updated sequential statistics.
//
// - New data since the last analysis (`delta`) feeds the sequential tests, so evidence accumulates
//   over the rollout and a bad canary is caught as soon as the evidence is strong enough — without
//   waiting for minRequests (statistical fail-fast).
// - The current step's window (`step`) decides whether the step has enough data (minRequests) and
//   whether the point estimates are within the limits; "not enough data" is `inconclusive`, never pass.
// - An interval in which the stable pool itself is over a limit (an incident) adds no absolute
//   evidence against the canary, and a canary cannot pass while the stable pool is over the limit.
import type { PoolEvidence, RolloutPolicy, SequentialStats, Verdict } from '../domain/rollout.js';
import { quantileMs } from '../metrics/histogram.js';
import { runChecks } from './checks.js';
import { countAbove, MIN_P99_SAMPLES, P99_SHARE, total } from './exceedance.js';
import {
  pValue,
  RATE_MULTIPLES,
  RATIO_WEIGHTS,
  RATIOS,
  updateRateTest,
  updateRatioBaseline,
  updateRatioTest,
  zeros,
} from './sequential.js';
import { describeFailure, holdReason } from './verdict-text.js';

export interface Slice {
  requests: number;
  errors: number;
  latency: ArrayLike<number>;
}

export interface JudgeInput {
  policy: RolloutPolicy;
  /** Data since the previous analysis. */
  delta: { canary: Slice; stable: Slice };
  /** Data since the current step started. */
  step: { canary: Slice; stable: Slice };
  /** Stable's recent traffic, the reference for its p99 (kept across a blue-green switch). */
  stableRef: Slice;
  stats: SequentialStats;
  now: number;
}

export function emptyStats(): SequentialStats {
  return {
    errorAbs: zeros(RATE_MULTIPLES.length),
    errorAbsStable: zeros(RATE_MULTIPLES.length),
    errorRel: zeros(RATIOS.length),
    latencyAbs: zeros(RATE_MULTIPLES.length),
    latencyAbsStable: zeros(RATE_MULTIPLES.length),
    latencyRel: zeros(RATE_MULTIPLES.length),
    baseline: { requests: 0, errors: 0 },
    canaryTotal: { requests: 0, errors: 0 },
    minP: { errorAbs: 1, errorRel: 1, latencyAbs: 1, latencyRel: 1 },
  };
}

/** A baseline rate needs this many stable requests behind it. */
const MIN_BASELINE = 1000;

/** Upper ~97.5% bound of the stable baseline rate: estimating it must not make a healthy canary look worse. */
export function baselineUpper(b: { requests: number; errors: number }): number | null {
  if (b.requests < MIN_BASELINE) return null;
  const p = b.errors / b.requests;
  return p + 2 * Math.sqrt(Math.max(p * (1 - p), 1 / b.requests) / b.requests);
}

function evidence(s: Slice): PoolEvidence {
  const n = total(s.latency);
  return {
    requests: s.requests,
    errors: s.errors,
    errorRate: s.requests > 0 ? s.errors / s.requests : 0,
    p99Ms: quantileMs(s.latency, n, 0.99),
  };
}

function cloneStats(s: SequentialStats): SequentialStats {
  return {
    errorAbs: [...s.errorAbs],
    errorAbsStable: [...s.errorAbsStable],
    errorRel: [...s.errorRel],
    latencyAbs: [...s.latencyAbs],
    latencyAbsStable: [...s.latencyAbsStable],
    latencyRel: [...s.latencyRel],
    baseline: { ...(s.baseline ?? { requests: 0, errors: 0 }) },
    canaryTotal: { ...(s.canaryTotal ?? { requests: 0, errors: 0 }) },
    minP: { ...(s.minP ?? { errorAbs: 1, errorRel: 1, latencyAbs: 1, latencyRel: 1 }) },
  };
}

/** Feeds the new interval into the running tests. */
function accumulate(input: JudgeInput, stats: SequentialStats): { stableRefP99: number | null } {
  const { policy: p, delta } = input;
  const c = delta.canary;
  const s = delta.stable;
  const stableOverErrors = s.requests > 0 && s.errors / s.requests > p.maxErrorRate;
  const cSlow = countAbove(c.latency, p.maxP99Ms);
  const sSlow = countAbove(s.latency, p.maxP99Ms);
  const stableOverLatency = s.requests > 0 && sSlow / s.requests > P99_SHARE;
  if (!stableOverErrors) updateRateTest(stats.errorAbs, p.maxErrorRate, c.requests, c.errors);
  updateRateTest(stats.errorAbsStable, p.maxErrorRate, s.requests, s.errors);
  updateRatioTest(stats.errorRel, c.requests, c.errors, s.requests, s.errors);
  if (s.requests === 0) {
    // No concurrent stable traffic (the canary takes 100%): hold the canary against the stable's
    // rate earlier in this rollout, with r·p0 as the alternatives of the same ratio grid.
    const p0 = baselineUpper(stats.baseline);
    if (p0 !== null) updateRatioBaseline(stats.errorRel, p0, c.requests, c.errors);
  }
  stats.baseline.requests += s.requests;
  stats.baseline.errors += s.errors;
  stats.canaryTotal.requests += c.requests;
  stats.canaryTotal.errors += c.errors;
  if (!stableOverLatency) updateRateTest(stats.latencyAbs, P99_SHARE, total(c.latency), cSlow);
  updateRateTest(stats.latencyAbsStable, P99_SHARE, total(s.latency), sSlow);
  const refN = total(input.stableRef.latency);
  // Latency depends on load: a p99 from another time (before the canary took 100%, or before a
  // blue-green switch) is no fair reference, so the relative latency test needs stable traffic now.
  if (refN < MIN_P99_SAMPLES || s.requests === 0) return { stableRefP99: null };
  const refP99 = quantileMs(input.stableRef.latency, refN, 0.99);
  updateRateTest(stats.latencyRel, P99_SHARE, total(c.latency), countAbove(c.latency, refP99 * p.maxLatencyRatio));
  return { stableRefP99: refP99 };
}

export function judge(input: JudgeInput): { verdict: Verdict; stats: SequentialStats } {
  const p = input.policy;
  const alpha = 1 - p.confidence;
  const stats = cloneStats(input.stats);
  const { stableRefP99 } = accumulate(input, stats);
  const canary = evidence(input.step.canary);
  const stable = evidence(input.step.stable);
  const m = stats.minP;
  m.errorAbs = Math.min(m.errorAbs, pValue(stats.errorAbs));
  m.errorRel = Math.min(m.errorRel, pValue(stats.errorRel, RATIO_WEIGHTS));
  m.latencyAbs = Math.min(m.latencyAbs, pValue(stats.latencyAbs));
  if (stableRefP99 !== null) m.latencyRel = Math.min(m.latencyRel, pValue(stats.latencyRel));
  const stableIncident =
    pValue(stats.errorAbsStable) <= alpha && stable.requests > 0 && stable.errorRate > p.maxErrorRate;
  const latencyLimitRel = stableRefP99 === null ? null : stableRefP99 * p.maxLatencyRatio;
  const checks = runChecks({ policy: p, alpha, stats, canary, stable, stableIncident, latencyLimitRel });
  const verdict = (result: Verdict['result'], failFast: boolean, reason: string): Verdict => ({
    result,
    failFast,
    reason,
    checks,
    canary,
    stable,
    at: input.now,
  });
  const failed = checks.filter((c) => c.status === 'fail');
  if (failed.length > 0) {
    const failFast = failed.some((c) => c.pValue <= alpha * alpha);
    return { stats, verdict: verdict('fail', failFast, failed.map(describeFailure).join('; ')) };
  }
  const hold = holdReason(p, canary, stable, stableIncident, latencyLimitRel);
  if (hold !== null) {
    for (const c of checks) if (c.status === 'pass' && c.pValue > alpha) c.status = 'inconclusive';
    return { stats, verdict: verdict('inconclusive', false, hold) };
  }
  return { stats, verdict: verdict('pass', false, 'canary within every limit') };
}
