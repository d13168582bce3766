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
  /** The policy of the table it was sent under: a swap that ends a rollout's override does not undo its retry. */
  readonly retryCanaryOnStable: boolean;
}

export interface Retry {
  /** The route it goes by: its service's in the table of now (attemptIn). */
  readonly route: ServiceRoute;
  readonly pool: PoolRuntime;
  readonly target: Upstream;
}

/**
 * The attempt that failed, seen from the routing table of now (null: its service left routing). A retry is a new
 * attempt and routes by the table of the moment it goes on, as a request that waited does: the snapshot the
 * request began with may name targets released since (a promotion replaced stable), whose pools are closed.
 * The failed target is looked up by address: a promotion moves the canary's targets to stable, and new
 * connection options recreate a target under the same address.
 */
export function attemptIn(table: RoutingTable, a: Attempt): Attempt | null {
  const route = table.routes.get(a.route.name);
  if (route === undefined) return null;
  if (route === a.route) return a;
  const id = a.target?.address.id;
  // Its own pool first: a target listed in both pools stays where it was sent.
  const own = route[a.pool.name];
  for (const pool of [own, own === route.stable ? route.canary : route.stable]) {
    const target = pool.targets.find((t) => t.address.id === id);
    if (target !== undefined) return { ...a, route, pool, target };
  }
  return { ...a, route, pool: own };
}

/**
 * Where a canary's discarded 5xx is asked again: another target of stable (null: none now). The policy was
 * asked when the answer's head came and the answer is gone since, so it is not asked again.
 */
export function stableRetry(a: Attempt, now: number, random: Random): Retry | null {
  const pick = pickIn(a.route, a.route.stable, now, random, a.target);
  return pick.pool === a.route.stable ? { route: a.route, pool: pick.pool, target: pick.target } : null;
}

/** A request that keeps finding containers gone (each one refusing) is tried at most this often. */
const MAX_ATTEMPTS = 4;

/** Whether a canary's 5xx is asked again of stable (false when the attempt's service left routing). */
export function canRetryOnStable(a: Attempt | null, now: number): boolean {
  return (
    a !== null &&
    a.attempt === 0 &&
    a.replayable &&
    a.retryCanaryOnStable &&
    a.pool.name === 'canary' &&
    hasEligible(a.route.stable.targets, now, a.target)
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
  if (canRetryOnStable(a, now)) return stableRetry(a, now, random);
  if (!(kind === 'connect' && retryConnectErrors)) return null;
  // Another target of the same pool: in the other one the request would reach a version it was not drawn for
  // (the canary at weight 0, in a blue-green preview, a sticky stable client), as stableRetry also checks.
  const pick = pickIn(a.route, a.pool, now, random, a.target);
  return pick.pool !== a.pool ? null : { route: a.route, pool: pick.pool, target: pick.target };
}
