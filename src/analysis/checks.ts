// The four checks of a verdict, each one sequential test's always-valid p-value held against
// alpha: the canary's error rate and p99 against the policy's absolute limits and against the
// stable pool's. A check fails only when the evidence is significant AND its practical gate holds
// (the difference matters, and the stable pool is not in an incident of its own).
import type { CheckResult, PoolEvidence, RolloutPolicy, SequentialStats } from '../domain/rollout.js';
import { pValue, RATIO_WEIGHTS } from './sequential.js';

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
  /** The relative median limit (null likewise). */
  medianLimit: number | null;
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
  const status = !gateOk ? 'pass' : p <= alpha ? 'fail' : p <= LEANING_P ? 'inconclusive' : 'pass';
  return { name, status, observed, limit, pValue: p, note };
}

/**
 * Evidence against the canary that is not yet conclusive holds the step: a step must not pass (and
 * expose more users) while the tests lean towards a regression. Holding never rolls back, so it does
 * not raise the false-alarm rate; by Ville's inequality at most this share of healthy canaries is
 * ever held by it.
 */
export const LEANING_P = 0.1;

function skipped(name: CheckResult['name'], observed: number, pValue: number): CheckResult {
  return {
    name,
    status: 'skipped',
    observed,
    limit: null,
    pValue,
    note: 'no concurrent stable traffic to compare with',
  };
}

export function runChecks(x: CheckInput): CheckResult[] {
  const { policy: p, alpha, stats, canary } = x;
  const m = stats.pNow;
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
    x.stable.requests === 0
      ? {
          name: 'error-rate-vs-stable',
          status: 'skipped',
          observed: canary.errorRate,
          limit: null,
          pValue: m.errorRel,
          note: 'no stable traffic this step: no control group to compare with',
        }
      : check(
          'error-rate-vs-stable',
          m.errorRel,
          alpha,
          cumGap > p.maxErrorRateIncrease,
          rate(stats.canaryTotal),
          rate(stats.baseline) + p.maxErrorRateIncrease,
          '',
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
    // The body of the distribution: a doubled median with an unchanged p99 is a regression too.
    x.medianLimit === null
      ? { ...skipped('median-vs-stable', canary.p50Ms ?? 0, m.latencyBody ?? 1) }
      : check('median-vs-stable', m.latencyBody ?? 1, alpha, true, canary.p50Ms ?? 0, x.medianLimit, ''),
  ];
}

/** 4xx against stable's share (judge4xx only): a canary that answers "not found" to what stable serves. */
export function clientCheck(p: RolloutPolicy, stats: SequentialStats, alpha: number): CheckResult[] {
  if (!p.judge4xx) return [];
  const t = stats.clientErrors ?? { canary: 0, stable: 0 };
  const [c, s] = [stats.canaryTotal, stats.baseline];
  const rate = (k: number, n: number): number => (n > 0 ? k / n : 0);
  const [rc, rs] = [rate(t.canary, c.requests), rate(t.stable, s.requests)];
  const pv = pValue(stats.clientRel ?? [], RATIO_WEIGHTS);
  return [
    check('client-errors-vs-stable', pv, alpha, rc - rs > p.maxErrorRateIncrease, rc, rs + p.maxErrorRateIncrease, ''),
  ];
}
