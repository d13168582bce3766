// Why a step cannot pass yet, though nothing failed: too little data, a limit broken by a confidence
// bound (not a point estimate, which low traffic makes noisy), tests that lean against the canary,
// a stable pool in an incident of its own, or, before a promotion that cannot be undone, a canary
// not yet shown to be no worse than stable. A hold never rolls back: it only waits for evidence.
import type { CheckResult, PoolEvidence, RolloutPolicy, SequentialStats } from '../domain/rollout.js';
import { failsOnStableToo } from './clients.js';
import { MIN_P99_SAMPLES, P99_SHARE } from './exceedance.js';
import { type Limits, POOL, slowCounts, type SlowCounts } from './routes.js';
import type { JudgeInput } from './judge.js';
import { SECONDS_PER_FAILURE } from './sequential.js';
import { stepTally } from './tally.js';
import { describeFailure, ms, pct } from './verdict-text.js';

/** One-sided 80% bound, for latency (and lowerBound's default): a hold needs more than noise. */
const Z = 0.8416;

/**
 * One-sided 90% for the error rate (3 errors in 200 is no reason to hold). A step held on errors collects
 * evidence at its own small weight: a canary twice as bad as stable, held at 5% of 100 req/s on an 80% bound,
 * was still there at the progress deadline in 3% of runs, where the next weight lets the sequential test roll
 * it back; and a healthy canary at 20 req/s was held on the noise of a few errors. The sequential test and the
 * check before promotion keep a bad canary out; the price is that one reaches higher weights before it is
 * caught (bench/RESULTS.md, the judge).
 */
const Z_ERRORS = 1.2816;

/** Wilson lower confidence bound of a rate: k of n. */
export function lowerBound(k: number, n: number, z = Z): number {
  if (n <= 0) return 0;
  const p = k / n;
  const z2 = z * z;
  return Math.max(0, (p + z2 / (2 * n) - z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n));
}

/** Too little data, a stable incident, or a limit broken by a confidence bound; null when none. */
export function holdReason(
  p: RolloutPolicy,
  c: PoolEvidence & { soFar: number; stepMin: number },
  s: PoolEvidence,
  /** Stable's error rate in the last interval when it is over the limit itself (an incident), else null. */
  incident: number | null,
  latencyLimitRel: number | null,
  slow: SlowCounts,
  byRoute = false,
): string | null {
  if (incident !== null)
    return (
      `stable pool error rate ${pct(incident)} is over the limit ${pct(p.maxErrorRate)}: ` +
      'holding, not blaming the canary'
    );
  if (c.soFar < p.minRequests) return `not enough data: canary served ${c.soFar} of ${p.minRequests} requests so far`;
  if (c.requests < c.stepMin) return `not enough data: canary served ${c.requests} of ${c.stepMin} requests this step`;
  const low = lowerBound(c.errors, c.requests, Z_ERRORS);
  const bound = `90% lower bound ${pct(low)}`;
  // Over the absolute limit, with stable traffic to compare: held only when worse than stable too
  // (below); both pools over the limit together is shared, not the canary's.
  if (low > p.maxErrorRate && s.requests === 0)
    return `canary error rate ${pct(c.errorRate)} (${bound}) over ${pct(p.maxErrorRate)}, not yet significant`;
  if (s.requests > 0 && low > s.errorRate + p.maxErrorRateIncrease)
    return (
      `canary error rate ${pct(c.errorRate)} (${bound}) over stable ${pct(s.errorRate)} + ` +
      `${pct(p.maxErrorRateIncrease)}, not yet significant`
    );
  // A p99 of fewer than 100 samples is one or two requests: noise, not a reason to hold. A p99 over
  // a limit means more than 1% of requests above it: held when the bound of that share says so. Routes
  // where stable is over maxP99Ms too (long-polls) are left out: that is shared, not the canary's.
  const where = byRoute ? ' on routes where stable is within it' : '';
  // Counts are fractional (a straddling bucket counts in part): rounded where an operator reads them.
  const [overAbs, overRel] = [Math.round(slow.overAbs), Math.round(slow.overRel)];
  if (slow.absN >= MIN_P99_SAMPLES && lowerBound(slow.overAbs, slow.absN) > P99_SHARE)
    return byRoute
      ? `canary: ${overAbs} of ${slow.absN} requests over ${ms(p.maxP99Ms)}${where}, not yet significant`
      : `canary p99 ${ms(c.p99Ms)} over ${ms(p.maxP99Ms)}, not yet significant`;
  if (slow.relN >= MIN_P99_SAMPLES && lowerBound(slow.overRel, slow.relN) > P99_SHARE)
    return byRoute
      ? `canary: ${overRel} of ${slow.relN} requests over ${p.maxLatencyRatio}× stable's p99 of their ` +
          'route, not yet significant'
      : `canary p99 ${ms(c.p99Ms)} over ${ms(latencyLimitRel ?? 0)} (${p.maxLatencyRatio}× stable p99), ` +
          'not yet significant';
  return null;
}

/** A pool's step evidence with its burst-capped error count (what holds are decided on). */
function counted(e: PoolEvidence, t: { requests: number; errors: number }): PoolEvidence {
  return { ...e, requests: t.requests, errors: t.errors, errorRate: t.requests > 0 ? t.errors / t.requests : 0 };
}

/** One-sided 85%: the bound a promotion's non-inferiority check uses. */
const Z_PROMOTE = 1.0364;

/**
 * Promotion cannot be undone, so before it the canary must be shown no worse than stable plus
 * maxErrorRateIncrease: the upper confidence bound of (canary − stable) error rate over the whole
 * rollout (steadier than one step's) within it, once the canary is seen worse at all. A healthy
 * canary shows it soon; one that is twice as bad holds here until the sequential test has the
 * evidence to roll it back.
 */
function beforePromotion(p: RolloutPolicy, stats: SequentialStats): string | null {
  // Every client's errors, unless the one the guard left out fails on stable too: a client that may be
  // all the canary's traffic is no reason to roll back, nor one to promote.
  const cut = { canary: stats.canaryTotal, stable: stats.baseline };
  const { canary: c, stable: s } = failsOnStableToo(stats) ? cut : (stats.everyClient ?? cut);
  return notShownWithin(p, c, s, 'error rate') ?? before4xxPromotion(p, stats);
}

/**
 * The 4xx test has no such gate of its own, yet one client's 4xx that the guard left out of it must not
 * get a canary promoted either (that client may be all the canary's traffic, meeting a canary that
 * answers 404): once some were left out, the canary's 4xx rate with them must be shown no worse than
 * stable's in the same way, unless that client drew 4xx on stable too.
 */
function before4xxPromotion(p: RolloutPolicy, stats: SequentialStats): string | null {
  const [t, run] = [stats.clients4xx, stats.clientErrors];
  if (!p.judge4xx || t === undefined || run === undefined || !(t.canary.left ?? 0)) return null;
  if (failsOnStableToo(stats, 'clientErrors')) return null;
  const c = { requests: stats.canaryTotal.requests, errors: run.canary + (t.canary.left ?? 0) };
  const s = { requests: stats.baseline.requests, errors: run.stable + (t.stable.left ?? 0) };
  return notShownWithin(p, c, s, '4xx rate');
}

type Counts = { requests: number; errors: number };

/** Why (canary − stable) rate over the rollout is not yet shown within maxErrorRateIncrease; null: it is. */
function notShownWithin(p: RolloutPolicy, c: Counts, s: Counts, what: string): string | null {
  if (s.requests === 0 || c.requests === 0) return null;
  const [rc, rs] = [c.errors / c.requests, s.errors / s.requests];
  // No worse than stable as observed: nothing to show (a service without errors is promoted).
  if (rc <= rs) return null;
  // A rate seen as 0 still has a variance: at least one error's worth.
  const v = (r: number, n: number): number => (Math.max(r, 1 / n) * (1 - r)) / n;
  const upper = rc - rs + Z_PROMOTE * Math.sqrt(v(rc, c.requests) + v(rs, s.requests));
  if (upper <= p.maxErrorRateIncrease) return null;
  return (
    `before promotion: canary ${what} over the rollout ${(rc * 100).toFixed(2)}% against stable's ` +
    `${(rs * 100).toFixed(2)}% (85% upper bound of the difference ${(upper * 100).toFixed(2)} pp) is not yet ` +
    `shown within +${(p.maxErrorRateIncrease * 100).toFixed(2)} pp`
  );
}

/** Canary requests expected at its share beyond which none at all is no chance (e^-8: 0.03%). */
const QUIET_EXPECTED = 8;

/**
 * A canary that stopped getting traffic while stable still gets its own: its targets died or left the
 * pool (a pool with none hands its share to the other). Its earlier seconds say nothing about it now,
 * so the step waits (and its deadline pauses it) rather than pass on evidence that went stale.
 */
function quietHold(tally: NonNullable<SequentialStats['step']>): string | null {
  const quiet = tally.quietStable ?? 0;
  const [c, s] = [tally.canary.requests, tally.stable.requests];
  if (quiet === 0 || c === 0) return null;
  // The canary's requests per stable request before it went quiet (no stable then: any quiet is telling).
  const expected = s - quiet > 0 ? (quiet * c) / (s - quiet) : Infinity;
  if (expected < QUIET_EXPECTED) return null;
  const about = expected === Infinity ? '' : ` (about ${Math.round(expected)} expected at its share)`;
  return (
    `the canary got no requests while stable served its last ${quiet}${about}: its targets may be down ` +
    'or out of the pool'
  );
}

export interface HoldInput {
  input: JudgeInput;
  /** Updated with this interval's evidence already. */
  stats: SequentialStats;
  checks: CheckResult[];
  /** Stable's error rate in the last interval when it is over the limit itself, else null. */
  incident: number | null;
  /** The relative latency limits, per route and for the pool (routes.ts). */
  limits: Limits;
  /** The step window's evidence per pool (as the verdict reports it). */
  canary: PoolEvidence;
  stable: PoolEvidence;
}

/** The reason the step holds, in order of what an operator should hear first; null: it may pass. */
export function stepHold(h: HoldInput): string | null {
  const { input, stats } = h;
  const p = input.policy;
  const slow = slowCounts(p, input.step.canary, input.step.stable, h.limits);
  const byRoute = input.step.canary.routes !== undefined;
  const tally = stepTally(stats, input.stepSince ?? 0);
  const { canary, stable } = h;
  const c = {
    ...counted(canary, tally.canary),
    soFar: input.canarySoFar ?? canary.requests,
    stepMin: input.stepMinRequests ?? 0,
  };
  // A failure needs SECONDS_PER_FAILURE seconds of evidence: a step with fewer seconds of canary
  // traffic could pass a canary the judge has not had the time to catch (or traffic that stopped).
  // (A blue-green preview needs no traffic: only the override header reaches the new pool.)
  const seconds = input.stepSince === undefined || c.stepMin === 0 ? Infinity : (tally.canarySeconds ?? 0);
  const leaning = h.checks.find((x) => x.status === 'inconclusive');
  return (
    holdReason(p, c, counted(stable, tally.stable), h.incident, h.limits.get(POOL)?.p99 ?? null, slow, byRoute) ??
    (seconds < SECONDS_PER_FAILURE
      ? `not enough data: the canary had traffic in ${seconds} s of this step, a verdict needs ${SECONDS_PER_FAILURE} s`
      : null) ??
    (seconds === Infinity ? null : quietHold(tally)) ??
    (leaning === undefined
      ? null
      : `evidence against the canary is building, not yet conclusive: ${describeFailure(leaning)}`) ??
    (input.final === true ? beforePromotion(p, stats) : null)
  );
}
