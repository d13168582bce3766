// Whether a failed first attempt gets a second one, and where. A request gets two attempts at
// most: an idempotent one without a body is retried on another target of its pool after a connect
// failure (retryConnectErrors), and with retryCanaryOnStable a failed canary attempt is retried on
// stable. Pure decisions over the exchange's state, so that exchange.ts keeps only the flow.
import type { Random } from '../domain/clock.js';
import type { FailureKind } from '../domain/upstream-failure.js';
import { hasEligible } from './balancer.js';
import { pickIn } from './pool-choice.js';
import type { PoolRuntime, RoutingTable, ServiceRoute } from './table.js';
import type { Upstream } from './upstream.js';

/** The attempt that just failed. */
export interface Attempt {
  readonly route: ServiceRoute;
  readonly pool: PoolRuntime;
  readonly target: Upstream | undefined;
  /** 0 for the first attempt. */
  readonly attempt: number;
  /** Idempotent and without a body: safe to send again. */
  readonly replayable: boolean;
}

export interface Retry {
  readonly pool: PoolRuntime;
  readonly target: Upstream;
}

/**
 * The attempt that failed, seen from the routing table of now. A retry is a new attempt and routes by the
 * table of the moment it goes on, as a request that waited does: the snapshot the request began with may
 * name targets released since (a promotion replaced stable), and a released target's pool is closed.
 */
export function attemptIn(table: RoutingTable, a: Attempt): Attempt {
  const route = table.routes.get(a.route.name);
  if (route === undefined || route === a.route) return a;
  return { ...a, route, pool: route[a.pool.name] };
}

/** Where a canary's discarded 5xx is asked again: another target of stable (null: none now). */
export function stableRetry(a: Attempt, now: number, random: Random): Retry | null {
  return canRetryOnStable(a, now) ? retryNow(a, 'broken', false, now, random) : null;
}

/** A request that keeps finding containers gone (each one refusing) is tried at most this often. */
const MAX_ATTEMPTS = 4;

export function canRetryOnStable(a: Attempt, now: number): boolean {
  return (
    a.attempt === 0 &&
    a.replayable &&
    a.route.retryCanaryOnStable &&
    a.pool.name === 'canary' &&
    hasEligible(a.route.stable.targets, now)
  );
}

/**
 * Where the failed attempt is retried; 'wait' to wait for a target (a Docker target refused: its
 * containers may be being replaced, and nothing was sent); null when it is not retried.
 * `refused`: the target refused and is now out until it answers (readiness.ts).
 */
export function retryOf(
  a: Attempt,
  kind: FailureKind,
  retryConnectErrors: boolean,
  now: number,
  random: Random,
  refused = false,
): Retry | 'wait' | null {
  const pick = retryNow(a, kind, retryConnectErrors, now, random);
  if (pick !== null) return pick;
  return refused && retryConnectErrors && a.replayable && a.attempt < MAX_ATTEMPTS - 1 ? 'wait' : null;
}

function retryNow(
  a: Attempt,
  kind: FailureKind,
  retryConnectErrors: boolean,
  now: number,
  random: Random,
): Retry | null {
  if (a.attempt > 0 || !a.replayable) return null;
  const toStable = canRetryOnStable(a, now);
  if (!toStable && !(kind === 'connect' && retryConnectErrors)) return null;
  const from = toStable ? a.route.stable : a.pool;
  const pick = pickIn(a.route, from, now, random, a.target);
  if (pick.pool === null || (toStable && pick.pool !== from)) return null;
  return pick;
}
