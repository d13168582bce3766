// The judge: one analysis of the canary against absolute limits and against the stable pool
// measured over the same time. Pure: it returns the verdict and the updated sequential statistics.
//
// - New data since the last analysis (`delta`) feeds the sequential tests, so evidence accumulates
//   over the rollout and a bad canary is caught as soon as the evidence is strong enough — without
//   waiting for minRequests (statistical fail-fast).
// - Fresh evidence: a failed analysis restarts the canary's tests, so each of the `failureLimit`
//   failures rests on data gathered since the previous one, and a quiet stretch after a blip is not
//   still "failed". Fail-fast needs evidence spanning at least two analyses.
// - The canary is only ever compared with stable traffic of the same seconds: with no stable traffic
//   (blue-green after the switch, a policy whose one step is 100%) only the absolute limits judge it.
// - The current step's window (`step`) decides whether the step has enough data (minRequests) and
//   whether a confidence bound breaks a limit; "not enough data" is `inconclusive`, never pass.
// - An interval in which the stable pool itself is over a limit (an incident) adds no absolute
//   evidence against the canary, and a canary cannot pass while the stable pool is over the limit.
import type { PoolEvidence, RolloutPolicy, SequentialStats, Verdict } from '../domain/rollout.js';
import { quantileMs } from '../metrics/histogram.js';
import { clientCheck, LEANING_P, runChecks } from './checks.js';
import { withoutDominantClient } from './clients.js';
import { countAbove, P99_SHARE, total } from './exceedance.js';
import { type Limits, POOL, routeChecks, routeEvidence, routeLimits, slowCounts, updateRoutes } from './routes.js';
import { pValue, RATIO_WEIGHTS, RATIOS, secondCaps, updateRateTest, updateRatioTest, zeros } from './sequential.js';
import { lowerBound, stepHold } from './hold.js';
import { cloneStats, restart } from './stats.js';

export { emptyStats } from './stats.js';
import { addTo, burstCap, stepTally } from './tally.js';
import { describeFailure } from './verdict-text.js';

export interface Slice {
  requests: number;
  errors: number;
  latency: ArrayLike<number>;
  /** 4xx answers (judged against stable with judge4xx); absent: none. */
  clientErrors?: number;
  /** The same per route group, when the source recorded groups. */
  routes?: Readonly<Record<string, Slice>>;
  /** Errors attributed to clients (sticky buckets), by client key. */
  clients?: Readonly<Record<string, number>>;
  /** The same for 4xx. */
  clients4xx?: Readonly<Record<string, number>>;
}

export interface JudgeInput {
  policy: RolloutPolicy;
  /** Data since the previous analysis. */
  delta: Block;
  /** The same, second by second (each second's evidence is capped); absent: one block. */
  seconds?: readonly Block[];
  /** Data since the current step started. */
  step: { canary: Slice; stable: Slice };
  /** Stable's recent traffic, the reference for its p99 (kept across a blue-green switch). */
  stableRef: Slice;
  stats: SequentialStats;
  now: number;
  /** Failed analyses in a row so far (each later one is confirmed at √α on fresh data); default 0. */
  failures?: number;
  /** Canary requests since it first got traffic (minRequests counts these: evidence carries across steps). */
  canarySoFar?: number;
  /** The last judged step: passing it promotes, which cannot be undone. */
  final?: boolean;
  /** When the current step's window starts (its running counts start again when this changes). */
  stepSince?: number;
  /** Canary requests the step itself needs (fresh data: a step never passes on earlier traffic alone). */
  stepMinRequests?: number;
}

function evidence(s: Slice): PoolEvidence {
  const n = total(s.latency);
  return {
    requests: s.requests,
    errors: s.errors,
    errorRate: s.requests > 0 ? s.errors / s.requests : 0,
    p99Ms: quantileMs(s.latency, n, 0.99),
    p50Ms: quantileMs(s.latency, n, 0.5),
  };
}

export interface Block {
  canary: Slice;
  stable: Slice;
  /** When the block starts (ms); blocks before the step's start do not count toward the step. */
  from?: number;
}

/** Feeds the new interval into the running tests, one second (block) at a time. */
function accumulate(input: JudgeInput, stats: SequentialStats, alpha: number): Limits {
  const { policy: p, delta } = input;
  const cap = secondCaps(alpha);
  // Latency depends on load: a p99 from another time (before the canary took 100%, or before a
  // blue-green switch) is no fair reference, so the relative latency tests need stable traffic now.
  const limits = routeLimits(p, input.stableRef, delta.stable.requests > 0);
  const step = stepTally(stats, input.stepSince ?? 0);
  for (const block of input.seconds ?? [delta]) {
    // One client's excess of errors (and of 4xx, when judged) is left out of every test below.
    const c = withoutDominantClient(stats, 'canary', block.canary, p.judge4xx);
    const s = withoutDominantClient(stats, 'stable', block.stable, p.judge4xx);
    const from = block.from;
    const inStep = from === undefined || from >= (input.stepSince ?? 0);
    // The running rates behind the practical gates and holds count a burst as a few errors too.
    const capped = (x: Slice): number => Math.min(x.errors, burstCap(x.requests, p));
    addTo(stats.canaryTotal, c.requests, capped(c));
    addTo(stats.baseline, s.requests, capped(s));
    // The same with a dominant client's errors kept: they gate the promotion, which cannot be undone,
    // and one client may be all the canary's traffic (so one client can neither roll back nor promote).
    const all = (stats.everyClient ??= { canary: { requests: 0, errors: 0 }, stable: { requests: 0, errors: 0 } });
    addTo(all.canary, c.requests, capped(block.canary));
    addTo(all.stable, s.requests, capped(block.stable));
    if (inStep) {
      addTo(step.canary, c.requests, capped(c));
      addTo(step.stable, s.requests, capped(s));
      countQuiet(step, c.requests, s.requests);
    }
    const stableOverErrors = s.requests > 0 && s.errors / s.requests > p.maxErrorRate;
    if (!stableOverErrors) updateRateTest(stats.errorAbs, p.maxErrorRate, c.requests, c.errors, cap.errors);
    updateRateTest(stats.errorAbsStable, p.maxErrorRate, s.requests, s.errors);
    // No concurrent stable traffic: no relative evidence (the stable's earlier rate is no control).
    updateRatioTest(stats.errorRel, c.requests, c.errors, s.requests, s.errors, cap.errors);
    if (p.judge4xx) updateClientTest(stats, c, s, cap.errors);
    // Each request against its own route's limits (routes.ts); a route slow on stable too is shared.
    const slow = slowCounts(p, c, s, limits);
    updateRateTest(stats.latencyAbs, P99_SHARE, slow.absN, slow.overAbs, cap.latency);
    updateRateTest(stats.latencyAbsStable, P99_SHARE, total(s.latency), countAbove(s.latency, p.maxP99Ms));
    updateRateTest(stats.latencyRel, P99_SHARE, slow.relN, slow.overRel, cap.latency);
    updateRateTest((stats.latencyBody ??= []), 0.5, slow.relN, slow.overMedian, cap.latency);
    updateRoutes(stats, c, s, limits, cap);
  }
  if (delta.canary.requests > 0) stats.fresh++;
  return limits;
}

/** Seconds with canary traffic, and the stable traffic served since the canary's last request. */
function countQuiet(step: ReturnType<typeof stepTally>, canary: number, stable: number): void {
  if (canary > 0) {
    step.canarySeconds = (step.canarySeconds ?? 0) + 1;
    step.quietStable = 0;
  } else step.quietStable = (step.quietStable ?? 0) + stable;
}

/** 4xx against stable's, like errors (clients cause them: never against an absolute limit). */
function updateClientTest(stats: SequentialStats, c: Slice, s: Slice, cap: number): void {
  const [ce, se] = [c.clientErrors ?? 0, s.clientErrors ?? 0];
  updateRatioTest((stats.clientRel ??= zeros(RATIOS.length)), c.requests, ce, s.requests, se, cap);
  const t = (stats.clientErrors ??= { canary: 0, stable: 0 });
  t.canary += ce;
  t.stable += se;
}

/** Each canary test's always-valid p-value now. */
function refreshP(stats: SequentialStats): void {
  const m = stats.pNow;
  m.errorAbs = pValue(stats.errorAbs);
  m.errorRel = pValue(stats.errorRel, RATIO_WEIGHTS);
  m.latencyAbs = pValue(stats.latencyAbs);
  m.latencyRel = pValue(stats.latencyRel);
  m.latencyBody = pValue(stats.latencyBody ?? []);
}

export function judge(input: JudgeInput): { verdict: Verdict; stats: SequentialStats } {
  const p = input.policy;
  const alpha = 1 - p.confidence;
  const stats = cloneStats(input.stats);
  const limits = accumulate(input, stats, alpha);
  const canary = evidence(input.step.canary);
  const stable = evidence(input.step.stable);
  refreshP(stats);
  // An incident is now, not earlier in the step: judged on this interval's stable traffic.
  const ds = input.delta.stable;
  // 99% sure: one error in 20 requests is no incident, and every held analysis costs time.
  const incident = lowerBound(ds.errors, ds.requests, 2.326) > p.maxErrorRate ? ds.errors / ds.requests : null;
  const pool = limits.get(POOL);
  const latencyLimitRel = pool?.p99 ?? null;
  // The first failure needs p ≤ α; each further one, on data gathered since, confirms at √α: a
  // healthy canary is rolled back with probability ≤ α^1.5 (failureLimit 2), and a real regression
  // is not made to prove itself twice over from scratch.
  const level = (input.failures ?? 0) > 0 ? Math.sqrt(alpha) : alpha;
  const checks = runChecks({
    policy: p,
    alpha: level,
    stats,
    canary,
    stable,
    stableIncident: incident !== null,
    latencyLimitRel,
    medianLimit: pool?.median ?? null,
  });
  checks.push(...routeChecks(p, stats, level, LEANING_P), ...clientCheck(p, stats, level));
  const routes = routeEvidence(input.step.canary, input.step.stable, evidence);
  const verdict = (result: Verdict['result'], failFast: boolean, reason: string): Verdict => ({
    result,
    failFast,
    reason,
    checks,
    canary,
    stable,
    ...(routes ? { routes } : {}),
    at: input.now,
  });
  const failed = checks.filter((c) => c.status === 'fail');
  if (failed.length > 0) {
    // Overwhelming evidence, not from one interval alone (a blip): gathered over two analyses or more, or
    // overwhelming in two in a row. Under the per-second caps α² needs ≥ 7 s of data, more than a failure and
    // its confirmation (4 + 2 s): with analyses every second once evidence leans, only a long interval sees it.
    const overwhelming = failed.some((c) => c.pValue <= alpha * alpha);
    const failFast = overwhelming && (stats.fresh >= 2 || stats.overwhelmed);
    const v = verdict('fail', failFast, failed.map(describeFailure).join('; '));
    restart(stats);
    stats.overwhelmed = overwhelming;
    return { stats, verdict: v };
  }
  stats.overwhelmed = false;
  const hold = stepHold({ input, stats, checks, incident, limits, canary, stable });
  if (hold !== null) {
    for (const c of checks) if (c.status === 'pass' && c.pValue > alpha) c.status = 'inconclusive';
    return { stats, verdict: verdict('inconclusive', false, hold) };
  }
  return { stats, verdict: verdict('pass', false, 'canary within every limit') };
}
