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
import type { CheckResult, PoolEvidence, RolloutPolicy, SequentialStats, Verdict } from '../domain/rollout.js';
import { quantileMs } from '../metrics/histogram.js';
import { countAbove, P99_SHARE, total } from './exceedance.js';
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

/** A p99 estimated from fewer samples is noise. */
const MIN_P99_SAMPLES = 100;

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

function check(
  name: CheckResult['name'],
  p: number,
  alpha: number,
  gateOk: boolean,
  observed: number | null,
  limit: number | null,
  note: string,
): CheckResult {
  const status = p <= alpha && gateOk ? 'fail' : 'pass';
  return { name, status, observed, limit, pValue: p, note };
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
  // The practical-significance gate of the relative check compares whole-rollout rates, which are
  // steadier than one step's, so a significant regression does not flip in and out of "fail".
  const rate = (t: { requests: number; errors: number }): number => (t.requests > 0 ? t.errors / t.requests : 0);
  const cumGap = rate(stats.canaryTotal) - rate(stats.baseline);

  const checks: CheckResult[] = [
    check(
      'error-rate',
      m.errorAbs,
      alpha,
      !stableIncident,
      canary.errorRate,
      p.maxErrorRate,
      stableIncident ? 'stable is over the limit too: not blamed on the canary' : '',
    ),
    check(
      'error-rate-vs-stable',
      m.errorRel,
      alpha,
      cumGap > p.maxErrorRateIncrease,
      rate(stats.canaryTotal),
      rate(stats.baseline) + p.maxErrorRateIncrease,
      stable.requests === 0 ? 'no stable traffic this step: compared with the stable rate earlier in the rollout' : '',
    ),
    check('latency', m.latencyAbs, alpha, true, canary.p99Ms, p.maxP99Ms, ''),
    latencyLimitRel === null
      ? {
          name: 'latency-vs-stable',
          status: 'skipped',
          observed: canary.p99Ms,
          limit: null,
          pValue: m.latencyRel,
          note: 'no concurrent stable traffic with enough requests for a p99',
        }
      : check('latency-vs-stable', m.latencyRel, alpha, true, canary.p99Ms, latencyLimitRel, ''),
  ];
  const failed = checks.filter((c) => c.status === 'fail');
  if (failed.length > 0) {
    const failFast = failed.some((c) => c.pValue <= alpha * alpha);
    return {
      stats,
      verdict: {
        result: 'fail',
        failFast,
        reason: failed.map(describeFailure).join('; '),
        checks,
        canary,
        stable,
        at: input.now,
      },
    };
  }
  const hold = holdReason(p, canary, stable, stableIncident, latencyLimitRel);
  if (hold !== null) {
    for (const c of checks) if (c.status === 'pass' && c.pValue > alpha) c.status = 'inconclusive';
    return {
      stats,
      verdict: { result: 'inconclusive', failFast: false, reason: hold, checks, canary, stable, at: input.now },
    };
  }
  return {
    stats,
    verdict: {
      result: 'pass',
      failFast: false,
      reason: 'canary within every limit',
      checks,
      canary,
      stable,
      at: input.now,
    },
  };
}

/** Why the step cannot pass yet (too little data, or point estimates over a limit), or null. */
function holdReason(
  p: RolloutPolicy,
  c: PoolEvidence,
  s: PoolEvidence,
  incident: boolean,
  latencyLimitRel: number | null,
): string | null {
  if (incident)
    return `stable pool error rate ${pct(s.errorRate)} is over the limit ${pct(p.maxErrorRate)}: holding, not blaming the canary`;
  if (c.requests < p.minRequests)
    return `not enough data: canary served ${c.requests} of ${p.minRequests} requests this step`;
  if (c.errorRate > p.maxErrorRate)
    return `canary error rate ${pct(c.errorRate)} over ${pct(p.maxErrorRate)}, not yet significant`;
  if (s.requests > 0 && c.errorRate > s.errorRate + p.maxErrorRateIncrease)
    return `canary error rate ${pct(c.errorRate)} over stable ${pct(s.errorRate)} + ${pct(p.maxErrorRateIncrease)}, not yet significant`;
  // A p99 of fewer than 100 samples is one or two requests: noise, not a reason to hold.
  const p99Meaningful = c.requests >= MIN_P99_SAMPLES;
  if (p99Meaningful && c.p99Ms > p.maxP99Ms)
    return `canary p99 ${ms(c.p99Ms)} over ${ms(p.maxP99Ms)}, not yet significant`;
  if (p99Meaningful && latencyLimitRel !== null && c.p99Ms > latencyLimitRel)
    return `canary p99 ${ms(c.p99Ms)} over ${ms(latencyLimitRel)} (${p.maxLatencyRatio}× stable p99), not yet significant`;
  return null;
}

function describeFailure(c: CheckResult): string {
  const pv = `p=${c.pValue < 1e-4 ? c.pValue.toExponential(1) : c.pValue.toFixed(4)}`;
  switch (c.name) {
    case 'error-rate':
      return `canary error rate ${pct(c.observed ?? 0)} exceeds maxErrorRate ${pct(c.limit ?? 0)} (${pv})`;
    case 'error-rate-vs-stable':
      return `canary error rate ${pct(c.observed ?? 0)} is higher than stable's (limit ${pct(c.limit ?? 0)}, ${pv})`;
    case 'latency':
      return `canary p99 ${ms(c.observed ?? 0)} exceeds maxP99Ms ${ms(c.limit ?? 0)} (${pv})`;
    case 'latency-vs-stable':
      return `canary p99 ${ms(c.observed ?? 0)} exceeds stable p99 × ratio (${ms(c.limit ?? 0)}, ${pv})`;
  }
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const ms = (x: number): string => `${x.toFixed(1)}ms`;
