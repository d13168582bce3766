// The judge's findings in words, for operators reading a rollout's status or events: why a check
// failed, or why a step cannot pass yet. Apart from judge.ts so that the statistics read without
// the wording.
import type { CheckResult, PoolEvidence, RolloutPolicy } from '../domain/rollout.js';
import { MIN_P99_SAMPLES } from './exceedance.js';

/** Why the step cannot pass yet (too little data, or point estimates over a limit), or null. */
export function holdReason(
  p: RolloutPolicy,
  c: PoolEvidence,
  s: PoolEvidence,
  incident: boolean,
  latencyLimitRel: number | null,
): string | null {
  if (incident)
    return (
      `stable pool error rate ${pct(s.errorRate)} is over the limit ${pct(p.maxErrorRate)}: ` +
      'holding, not blaming the canary'
    );
  if (c.requests < p.minRequests)
    return `not enough data: canary served ${c.requests} of ${p.minRequests} requests this step`;
  if (c.errorRate > p.maxErrorRate)
    return `canary error rate ${pct(c.errorRate)} over ${pct(p.maxErrorRate)}, not yet significant`;
  if (s.requests > 0 && c.errorRate > s.errorRate + p.maxErrorRateIncrease)
    return (
      `canary error rate ${pct(c.errorRate)} over stable ${pct(s.errorRate)} + ${pct(p.maxErrorRateIncrease)}, ` +
      'not yet significant'
    );
  // A p99 of fewer than 100 samples is one or two requests: noise, not a reason to hold.
  const p99Meaningful = c.requests >= MIN_P99_SAMPLES;
  if (p99Meaningful && c.p99Ms > p.maxP99Ms)
    return `canary p99 ${ms(c.p99Ms)} over ${ms(p.maxP99Ms)}, not yet significant`;
  if (p99Meaningful && latencyLimitRel !== null && c.p99Ms > latencyLimitRel)
    return (
      `canary p99 ${ms(c.p99Ms)} over ${ms(latencyLimitRel)} (${p.maxLatencyRatio}× stable p99), ` +
      'not yet significant'
    );
  return null;
}

export function describeFailure(c: CheckResult): string {
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
