// Waiting on health verdicts: a rollout's canary gate ("no traffic before the canary passed its
// checks") and veer's own start (listen once every checked target has had a first verdict). Both
// are woken by probes, never by polling, and both are bounded. Also what status shows of a target.
import { settledWithin } from '../domain/async.js';
import type { Clock } from '../domain/clock.js';
import { err, ok, type Result } from '../domain/errors.js';
import type { HealthChecker } from './health.js';
import type { Upstream } from './upstream.js';

export type Health = 'unchecked' | 'pending' | 'healthy' | 'unhealthy';

/** `checked`: health-checked or readiness-watched; a port that never accepted a connection is pending. */
export function healthOf(u: Upstream, checked: boolean): Health {
  if (!checked) return 'unchecked';
  if (u.pending || !u.wasReady) return 'pending';
  return u.healthy && u.ready ? 'healthy' : 'unhealthy';
}

export interface GateView {
  health: HealthChecker;
  clock: Clock;
  /** The pool's upstreams as routed now. */
  targets(): readonly Upstream[];
}

export interface TargetState {
  id: string;
  /** Gets traffic as far as health goes (unchecked or healthy). */
  healthy: boolean;
  health: Health;
  ejected: boolean;
  /** The current streak of failures counted towards outlier ejection. */
  failureStreak: number;
  outstanding: number;
  lastHealthError: string | null;
}

/** What status shows of a target; `checked`: health-checked or readiness-watched. */
export function targetState(u: Upstream, checked: boolean, now: number): TargetState {
  return {
    id: u.address.id,
    healthy: u.healthy,
    health: healthOf(u, checked),
    ejected: u.ejectedUntil > now,
    failureStreak: u.consecutiveFailures,
    outstanding: u.outstanding,
    lastHealthError: u.readyError ?? u.lastHealthError,
  };
}

export type GateResult = Result<void, string>;

const RECHECK_MS = 250;

/** Resolves when every target in `ids` is routed and healthy, or with why not at `deadline`. */
export function awaitHealthy(
  view: GateView,
  ids: readonly string[],
  deadline: number,
  signal?: AbortSignal,
): Promise<GateResult> {
  const missing = (): Upstream | string | null => {
    const routed = view.targets();
    for (const id of ids) {
      const u = routed.find((t) => t.address.id === id);
      if (u === undefined) return id;
      if (view.health.checks(u) && !u.healthy) return u;
    }
    return null;
  };
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: GateResult): void => {
      if (settled) return;
      settled = true;
      off();
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const check = (): void => {
      if (missing() === null) finish(ok(undefined));
    };
    const onAbort = (): void => finish(err('aborted'));
    const offProbe = view.health.onProbe(check);
    // A target routed later (another replica's write arriving) may already be healthy: no probe of
    // it would wake this wait, so routing is looked at again now and then too.
    const backstop = setInterval(check, RECHECK_MS);
    backstop.unref();
    const off = (): void => {
      offProbe();
      clearInterval(backstop);
    };
    const timer = setTimeout(
      () => {
        const m = missing();
        finish(m === null ? ok(undefined) : err(why(m)));
      },
      Math.max(0, deadline - view.clock.now()),
    );
    timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    check();
  });
}

function why(m: Upstream | string): string {
  if (typeof m === 'string') return `target ${m} is not in the pool`;
  const last = m.lastHealthError === null ? 'no probe has answered yet' : `last probe: ${m.lastHealthError}`;
  return `target ${m.address.id} did not pass its health check (${m.healthOk} good probe(s) in a row; ${last})`;
}

/** Resolves when `unsettled()` turns false after a probe, or after `maxMs`. */
export async function untilSettled(health: HealthChecker, unsettled: () => boolean, maxMs: number): Promise<void> {
  if (!unsettled()) return;
  let off = (): void => undefined;
  const settled = new Promise<void>((resolve) => {
    off = health.onProbe(() => {
      if (!unsettled()) resolve();
    });
  });
  await settledWithin(settled, maxMs);
  off();
}
