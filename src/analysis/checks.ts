// The four checks of a verdict, each one sequential test's always-valid p-value held against
// alpha: the canary's error rate and p99 against the policy's absolute limits and against the
// stable pool's. A check fails only when the evidence is significant AND its practical gate holds
// (the difference matters, and the stable pool is not in an incident of its own).
import type { CheckResult, PoolEvidence, RolloutPolicy, SequentialStats } from '../domain/rollout.js';

export interface CheckInput {
  policy: RolloutPolicy;
  alpha: number;
  /** Updated with this interval's evidence already. */
  stats: SequentialStats;
  canary: PoolEvidence;
  stable: PoolEvidence;
  stableIncident: boolean;
  /** The relative p99 limit; null when there is no fair stable p99 to compare with. */
  latencyLimitRel: number | null;
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

export function runChecks(x: CheckInput): CheckResult[] {
  const { policy: p, alpha, stats, canary } = x;
  const m = stats.minP;
  // The practical-significance gate of the relative check compares whole-rollout rates, which are
  // steadier than one step's, so a significant regression does not flip in and out of "fail".
  const rate = (t: { requests: number; errors: number }): number => (t.requests > 0 ? t.errors / t.requests : 0);
  const cumGap = rate(stats.canaryTotal) - rate(stats.baseline);
  return [
    check(
      'error-rate',
      m.errorAbs,
      alpha,
      !x.stableIncident,
      canary.errorRate,
      p.maxErrorRate,
      x.stableIncident ? 'stable is over the limit too: not blamed on the canary' : '',
    ),
    check(
      'error-rate-vs-stable',
      m.errorRel,
      alpha,
      cumGap > p.maxErrorRateIncrease,
      rate(stats.canaryTotal),
      rate(stats.baseline) + p.maxErrorRateIncrease,
      x.stable.requests === 0
        ? 'no stable traffic this step: compared with the stable rate earlier in the rollout'
        : '',
    ),
    check('latency', m.latencyAbs, alpha, true, canary.p99Ms, p.maxP99Ms, ''),
    x.latencyLimitRel === null
      ? {
          name: 'latency-vs-stable',
          status: 'skipped',
          observed: canary.p99Ms,
          limit: null,
          pValue: m.latencyRel,
          note: 'no concurrent stable traffic with enough requests for a p99',
        }
      : check('latency-vs-stable', m.latencyRel, alpha, true, canary.p99Ms, x.latencyLimitRel, ''),
  ];
}
