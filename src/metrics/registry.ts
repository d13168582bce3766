// One PoolWindow per (service, pool). The data plane asks once and keeps the reference, so the Map
// lookup happens when a routing table is built, not per request.

import type { PoolName } from '../domain/pool.js';
import { quantileMs } from './histogram.js';
import { RouteGroups, type RouteGroupSpec } from './route-groups.js';
import { emptyTotals, PoolWindow, type TotalsLike } from './window.js';

export interface PoolSummary {
  requests: number;
  errors: number;
  connectErrors: number;
  timeouts: number;
  broken: number;
  /** errors / requests, 0 when there were no requests. */
  errorRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

export interface PoolEntry {
  service: string;
  pool: PoolName;
  window: PoolWindow;
}

export function summarize(t: TotalsLike): PoolSummary {
  let total = 0;
  for (let i = 0; i < t.latency.length; i++) total += t.latency[i] as number;
  return {
    requests: t.requests,
    errors: t.errors,
    connectErrors: t.connectErrors,
    timeouts: t.timeouts,
    broken: t.broken,
    errorRate: t.requests > 0 ? t.errors / t.requests : 0,
    p50Ms: quantileMs(t.latency, total, 0.5),
    p95Ms: quantileMs(t.latency, total, 0.95),
    p99Ms: quantileMs(t.latency, total, 0.99),
  };
}

/**
 * Start of the last `windowMs` of whole seconds ending with the current (partial) second: a 30 s
 * window at 12:00:30.400 covers seconds :01 … :30, i.e. 30 slots, not 31.
 */
export function windowStartMs(windowMs: number, nowMs: number): number {
  return (Math.floor((nowMs - windowMs) / 1000) + 1) * 1000;
}

export class MetricsRegistry {
  private readonly services = new Map<string, Record<PoolName, PoolWindow>>();
  private readonly groupsOf = new Map<string, { key: string; groups: RouteGroups }>();
  private readonly seconds: number | undefined;

  constructor(opts: { seconds?: number } = {}) {
    this.seconds = opts.seconds;
  }

  /** Same object every call for the same (service, pool): callers keep the reference on the hot path. */
  pool(service: string, pool: PoolName): PoolWindow {
    let pools = this.services.get(service);
    if (!pools) {
      // Both pools at once, so dashboards show an idle canary as zeros rather than a missing series.
      const opts = this.seconds === undefined ? {} : { seconds: this.seconds };
      pools = { stable: new PoolWindow(opts), canary: new PoolWindow(opts) };
      this.services.set(service, pools);
    }
    return pools[pool];
  }

  /**
   * The service's route groups, shared by both pools' windows: the same object while the spec is the
   * same, so its auto groups and the windows' route windows survive a table swap.
   */
  groups(service: string, spec: RouteGroupSpec): RouteGroups {
    const key = RouteGroups.keyOf(spec);
    let held = this.groupsOf.get(service);
    if (held?.key !== key) {
      held = { key, groups: new RouteGroups(spec) };
      this.groupsOf.set(service, held);
    }
    for (const pool of ['stable', 'canary'] as const) this.pool(service, pool).routes.use(held.groups);
    return held.groups;
  }

  /** Summary of the last `windowMs` (see windowStartMs); an unknown service reads as empty, not created. */
  summary(service: string, pool: PoolName, windowMs: number, nowMs: number): PoolSummary {
    const window = this.services.get(service)?.[pool];
    return summarize(window ? window.totals(windowStartMs(windowMs, nowMs), nowMs) : emptyTotals());
  }

  entries(): PoolEntry[] {
    const out: PoolEntry[] = [];
    for (const [service, pools] of this.services) {
      out.push({ service, pool: 'stable', window: pools.stable }, { service, pool: 'canary', window: pools.canary });
    }
    return out;
  }

  /** Forget a service; holders of its windows keep a detached object that no longer shows up. */
  remove(service: string): void {
    this.services.delete(service);
    this.groupsOf.delete(service);
  }
}
