// The gauges a worker holds and the primary shows: requests in flight and waiting, each target's
// outstanding requests, and the access log's line counts. A worker sends what it holds now once a
// second; the primary adds every worker's latest to its own figures (its own data plane serves no
// traffic, so those are its workers' sum).
import type { DataPlane } from '../dataplane/dataplane.js';
import { POOL_NAMES, type PoolName } from '../domain/pool.js';
import type { WorkerGauges } from '../gauges.js';
import { LOOP_QUANTILES } from '../metrics/loop-delay.js';
import type { LatenessCounts } from '../metrics/loop-lateness.js';
import type { GaugesReport } from './messages.js';

/** One worker's report without its message type, and without its connections (the primary's Member keeps those). */
type Held = Omit<GaugesReport, 'type' | 'connections'>;

/**
 * What `plane` holds now, as a worker reports it (targets with nothing in flight are left out), with its
 * own event loop's delay: the primary's loop serves no request, so only the workers' show the data plane's.
 */
export function readGauges(plane: DataPlane, loopDelay: readonly number[] | null, loopLateness: LatenessCounts): Held {
  const outstanding: GaugesReport['outstanding'] = [];
  for (const service of plane.serviceNames())
    for (const pool of POOL_NAMES)
      for (const t of plane.targets(service, pool))
        if (t.outstanding > 0) outstanding.push([service, pool, t.id, t.outstanding]);
  const { inFlight, waiting } = plane;
  return {
    inFlight,
    waiting,
    accessLines: plane.accessLog.counts(),
    outstanding,
    loopDelay: loopDelay && [...loopDelay],
    loopLateness,
  };
}

const key = (service: string, pool: PoolName, target: string): string => `${service}\n${pool}\n${target}`;

/**
 * The primary's sum of its workers' latest reports. A worker that exits takes its gauges with it, but
 * not its access line counts: they are counters, which never go down (the lines of its last second
 * before an unasked exit are not counted).
 */
export class WorkerGaugeSum implements WorkerGauges {
  private readonly latest = new Map<number, Held>();
  private readonly past = { written: 0, dropped: 0 };

  update(worker: number, report: Held): void {
    this.latest.set(worker, report);
  }

  gone(worker: number): void {
    const last = this.latest.get(worker);
    if (last === undefined) return;
    this.past.written += last.accessLines.written;
    this.past.dropped += last.accessLines.dropped;
    this.latest.delete(worker);
  }

  /** A worker's requests in flight at its last report (null: none yet). */
  inFlightOf(worker: number): number | null {
    return this.latest.get(worker)?.inFlight ?? null;
  }

  /** A worker's loop delay at the 99th percentile, ms (null: no report or no complete window yet). */
  loopDelayP99MsOf(worker: number): number | null {
    const q = this.latest.get(worker)?.loopDelay;
    return q == null ? null : Math.round(q[LOOP_QUANTILES.indexOf(0.99)]! * 1e6) / 1000;
  }

  /** Each worker's loop delay at its last report (workers without a complete window yet are left out). */
  loopDelays(): Array<{ worker: number; quantiles: readonly number[] }> {
    const out: Array<{ worker: number; quantiles: readonly number[] }> = [];
    for (const [worker, r] of this.latest) if (r.loopDelay !== null) out.push({ worker, quantiles: r.loopDelay });
    return out;
  }

  /** Each worker's loop delay samples since it started, at its last report. */
  latenesses(): Array<{ worker: number; counts: LatenessCounts }> {
    return [...this.latest].map(([worker, r]) => ({ worker, counts: r.loopLateness }));
  }

  get inFlight(): number {
    return this.sum((r) => r.inFlight);
  }

  get waiting(): number {
    return this.sum((r) => r.waiting);
  }

  accessLines(): { written: number; dropped: number } {
    return {
      written: this.past.written + this.sum((r) => r.accessLines.written),
      dropped: this.past.dropped + this.sum((r) => r.accessLines.dropped),
    };
  }

  /** Each target's outstanding requests over every worker, read once per scrape. */
  outstanding(): (service: string, pool: PoolName, target: string) => number {
    const by = new Map<string, number>();
    for (const r of this.latest.values())
      for (const [service, pool, target, n] of r.outstanding) {
        const k = key(service, pool, target);
        by.set(k, (by.get(k) ?? 0) + n);
      }
    return (service, pool, target) => by.get(key(service, pool, target)) ?? 0;
  }

  private sum(of: (r: Held) => number): number {
    let n = 0;
    for (const r of this.latest.values()) n += of(r);
    return n;
  }
}
