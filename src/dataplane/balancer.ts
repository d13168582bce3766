// Within a pool: least outstanding requests with power-of-two choices (two random eligible
// targets, take the less busy). Passive outlier ejection takes a target that keeps failing out
// for a while, but never so many that the pool is left empty.
import type { Random } from '../domain/clock.js';

export interface BalancedTarget {
  outstanding: number;
  consecutiveFailures: number;
  ejectedUntil: number;
  /** Active health check verdict (true when checks are off). */
  healthy: boolean;
  /** false while a Docker target's port does not accept connections (readiness.ts); absent: ready. */
  ready?: boolean;
}

export interface OutlierPolicy {
  consecutiveErrors: number;
  ejectFor: number;
  maxEjectedPercent: number;
}

function eligible(t: BalancedTarget, now: number): boolean {
  return t.healthy && t.ready !== false && t.ejectedUntil <= now;
}

/**
 * Picks an eligible target (healthy, not ejected), never `exclude` (the target a retry just failed
 * on). undefined when there is none: an unhealthy or pending target gets no traffic, and the
 * caller hands the share to the other pool (no "panic" fallback to ineligible targets).
 */
export function pickTarget<T extends BalancedTarget>(
  targets: readonly T[],
  now: number,
  random: Random,
  exclude?: T,
): T | undefined {
  const n = targets.length;
  if (n === 0) return undefined;
  if (n === 1) {
    const only = targets[0] as T;
    return only !== exclude && eligible(only, now) ? only : undefined;
  }
  const i = Math.floor(random() * n);
  let j = Math.floor(random() * (n - 1));
  if (j >= i) j++;
  const a = targets[i] as T;
  const b = targets[j] as T;
  const aOk = a !== exclude && eligible(a, now);
  const bOk = b !== exclude && eligible(b, now);
  if (aOk && bOk) return b.outstanding < a.outstanding ? b : a;
  if (aOk) return a;
  if (bOk) return b;
  for (let k = 1; k < n; k++) {
    const t = targets[(i + k) % n] as T;
    if (t !== exclude && eligible(t, now)) return t;
  }
  return undefined;
}

/** Whether any target may be picked now. */
export function hasEligible<T extends BalancedTarget>(targets: readonly T[], now: number, exclude?: T): boolean {
  for (const t of targets) if (t !== exclude && eligible(t, now)) return true;
  return false;
}

/** Records a success: the failure streak ends. */
export function noteSuccess(t: BalancedTarget): void {
  t.consecutiveFailures = 0;
}

/**
 * Records a failure (connect error or 5xx). Returns true when this failure ejected the target.
 * The last eligible target of a pool is never ejected, nor more than maxEjectedPercent of it.
 */
export function noteFailure<T extends BalancedTarget>(
  t: T,
  pool: readonly T[],
  policy: OutlierPolicy,
  now: number,
): boolean {
  t.consecutiveFailures++;
  if (t.consecutiveFailures < policy.consecutiveErrors || t.ejectedUntil > now) return false;
  let ejected = 0;
  let eligibleCount = 0;
  for (const o of pool) {
    if (o.ejectedUntil > now) ejected++;
    else if (o.healthy && o.ready !== false) eligibleCount++;
  }
  if (eligibleCount <= 1) return false;
  if (((ejected + 1) * 100) / pool.length > policy.maxEjectedPercent) return false;
  t.ejectedUntil = now + policy.ejectFor;
  t.consecutiveFailures = 0;
  return true;
}
