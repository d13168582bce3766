// Evidence route by route. Latency is compared within each route group: a canary request counts as slow
// against its own route's stable p99 and median, and a route that is over maxP99Ms on stable too (a
// long-poll, an event stream, a big download) adds no absolute evidence, so which pool drew the
// long-polls no longer decides a verdict. Each route also has tests of its own, corrected for the number
// of routes (Bonferroni), so one endpoint failing completely is caught even when it is a sliver of the
// traffic. Without route data (a source that does not record groups) everything is one group: the pool.
import type { CheckResult, PoolEvidence, RolloutPolicy, RouteStats, SequentialStats } from '../domain/rollout.js';
import { quantileMs } from '../metrics/histogram.js';
import { countAbove, MIN_P99_SAMPLES, P99_SHARE, total } from './exceedance.js';
import type { Slice } from './judge.js';
import {
  RATE_MULTIPLES,
  ROUTE_RATIOS,
  pValue,
  type SecondCaps,
  updateRateTest,
  updateRatioTest,
  zeros,
} from './sequential.js';

/** One route's limits from stable's reference traffic. */
export interface RouteLimit {
  /** Relative p99 and median limits; null without a fair stable reference for this route. */
  p99: number | null;
  median: number | null;
  /** Stable itself is over maxP99Ms here: absolute latency is shared, not the canary's. */
  stableOver: boolean;
}

export type Limits = ReadonlyMap<string, RouteLimit>;

/** The pool's own limits go under this name: the one group of a source without routes. */
export const POOL = '';

/** Each route's limits (and the pool's, under POOL) from stable's recent traffic. */
export function routeLimits(p: RolloutPolicy, ref: Slice, concurrent: boolean): Limits {
  const out = new Map<string, RouteLimit>();
  const floor = p.minLatencyIncreaseMs ?? 0;
  const limitOf = (s: Slice): RouteLimit => {
    const n = total(s.latency);
    const fair = n >= MIN_P99_SAMPLES;
    const limit = (q: number): number | null => {
      if (!fair || !concurrent) return null;
      const r = quantileMs(s.latency, n, q);
      return Math.max(r * p.maxLatencyRatio, r + floor);
    };
    return {
      p99: limit(0.99),
      median: limit(0.5),
      stableOver: fair && countAbove(s.latency, p.maxP99Ms) / n > P99_SHARE,
    };
  };
  out.set(POOL, limitOf(ref));
  for (const [name, s] of Object.entries(ref.routes ?? {})) out.set(name, limitOf(s));
  return out;
}

/** Canary requests counted against the latency limits, each against its own route's. */
export interface SlowCounts {
  /** Requests in routes where stable is within maxP99Ms, and how many of them are above it. */
  absN: number;
  overAbs: number;
  /** Requests in routes with a fair stable reference, above its p99 and its median limit. */
  relN: number;
  overRel: number;
  overMedian: number;
}

/** `stable` decides, where the reference cannot, whether stable is over maxP99Ms in this data. */
export function slowCounts(p: RolloutPolicy, c: Slice, stable: Slice, limits: Limits): SlowCounts {
  const out = { absN: 0, overAbs: 0, relN: 0, overRel: 0, overMedian: 0 };
  const groups: Array<[string, Slice, Slice | undefined]> =
    c.routes === undefined ? [[POOL, c, stable]] : Object.entries(c.routes).map(([k, v]) => [k, v, stable.routes?.[k]]);
  for (const [name, cr, sr] of groups) {
    const n = total(cr.latency);
    if (n === 0) continue;
    const l = limits.get(name);
    const sN = sr === undefined ? 0 : total(sr.latency);
    const stableOverNow = sr !== undefined && sN > 0 && countAbove(sr.latency, p.maxP99Ms) / sN > P99_SHARE;
    if (!(l?.stableOver ?? false) && !stableOverNow) {
      out.absN += n;
      out.overAbs += countAbove(cr.latency, p.maxP99Ms);
    }
    if (l?.p99 == null) continue;
    out.relN += n;
    out.overRel += countAbove(cr.latency, l.p99);
    out.overMedian += countAbove(cr.latency, l.median ?? Infinity);
  }
  return out;
}

const emptyRoute = (): RouteStats => ({
  errorRel: zeros(ROUTE_RATIOS.length),
  latencyRel: zeros(RATE_MULTIPLES.length),
  canary: { requests: 0, errors: 0 },
  stable: { requests: 0, errors: 0 },
});

/** At most this many routes keep tests (the policy lists at most 32 prefixes, plus the rest). */
const MAX_ROUTES = 40;

/** Feeds one block into each route's own tests. */
export function updateRoutes(stats: SequentialStats, c: Slice, s: Slice, limits: Limits, cap: SecondCaps): void {
  if (c.routes === undefined && s.routes === undefined) return;
  const routes = (stats.routes ??= {});
  for (const name of new Set([...Object.keys(c.routes ?? {}), ...Object.keys(s.routes ?? {})])) {
    if (routes[name] === undefined && Object.keys(routes).length >= MAX_ROUTES) continue;
    const r = (routes[name] ??= emptyRoute());
    const [cr, sr] = [c.routes?.[name], s.routes?.[name]];
    const [cn, ce, sn, se] = [cr?.requests ?? 0, cr?.errors ?? 0, sr?.requests ?? 0, sr?.errors ?? 0];
    updateRatioTest(r.errorRel, cn, ce, sn, se, cap.errors, ROUTE_RATIOS);
    r.canary.requests += cn;
    r.canary.errors += ce;
    r.stable.requests += sn;
    r.stable.errors += se;
    const limit = limits.get(name)?.p99;
    if (cr !== undefined && limit != null)
      updateRateTest(r.latencyRel, P99_SHARE, total(cr.latency), countAbove(cr.latency, limit), cap.latency);
  }
}

/** Routes whose tests have canary data: the Bonferroni divisor. */
function judged(stats: SequentialStats): Array<[string, RouteStats]> {
  return Object.entries(stats.routes ?? {}).filter(([, r]) => r.canary.requests > 0);
}

const rate = (t: { requests: number; errors: number }): number => (t.requests > 0 ? t.errors / t.requests : 0);

/**
 * The worst route's error and latency tests, each held against alpha / routes (and leaning against
 * leaning / routes); none with fewer than two routes, where the pool's own checks say it all.
 */
export function routeChecks(p: RolloutPolicy, stats: SequentialStats, alpha: number, leaning: number): CheckResult[] {
  const routes = judged(stats);
  if (routes.length < 2) return [];
  const k = routes.length;
  const status = (pv: number): CheckResult['status'] =>
    pv <= alpha / k ? 'fail' : pv <= leaning / k ? 'inconclusive' : 'pass';
  const worst = (pOf: (r: RouteStats) => number, gate: (r: RouteStats) => boolean): [string, RouteStats, number] => {
    let best: [string, RouteStats, number] = [routes[0]?.[0] as string, routes[0]?.[1] as RouteStats, 1];
    for (const [name, r] of routes) {
      const pv = gate(r) ? pOf(r) : 1;
      if (pv < best[2]) best = [name, r, pv];
    }
    return best;
  };
  const note = `worst of ${k} routes, held against α/${k}`;
  const [eName, e, ep] = worst(
    (r) => pValue(r.errorRel),
    (r) => rate(r.canary) - rate(r.stable) > p.maxErrorRateIncrease,
  );
  const [lName, , lp] = worst(
    (r) => pValue(r.latencyRel),
    () => true,
  );
  return [
    {
      name: 'route-errors-vs-stable',
      status: status(ep),
      observed: rate(e.canary),
      limit: rate(e.stable) + p.maxErrorRateIncrease,
      pValue: ep,
      note,
      route: eName,
    },
    {
      name: 'route-latency-vs-stable',
      status: status(lp),
      observed: null,
      limit: null,
      pValue: lp,
      note,
      route: lName,
    },
  ];
}

/** Each route's step evidence, busiest first (at most 10): what an operator reads in a verdict. */
export function routeEvidence(
  c: Slice,
  s: Slice,
  evidence: (x: Slice) => PoolEvidence,
): Array<{ route: string; canary: PoolEvidence; stable: PoolEvidence }> | undefined {
  if (c.routes === undefined) return undefined;
  const none: Slice = { requests: 0, errors: 0, latency: [] };
  return Object.entries(c.routes)
    .sort(([, a], [, b]) => b.requests - a.requests)
    .slice(0, 10)
    .map(([route, cr]) => ({ route, canary: evidence(cr), stable: evidence(s.routes?.[route] ?? none) }));
}
