// Active HTTP health checks. A target turns unhealthy after `unhealthyThreshold` failed probes in a
// row and healthy again after `healthyThreshold` good ones; the balancer skips unhealthy targets.
// A new target starts *pending*: it gets no traffic until it has passed `healthyThreshold` probes,
// like kamal-proxy's deploys and nginx's `mandatory` checks. Pending targets are probed at once and
// then every PENDING_INTERVAL_MS (or `interval`, if shorter), so a start costs about
// (healthyThreshold - 1) × 0.5 s rather than that many full intervals.
import type { Logger } from '../domain/log.js';
import type { Upstream } from './upstream.js';

export const PENDING_INTERVAL_MS = 500;

export interface HealthPolicy {
  path: string;
  interval: number;
  timeout: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  expectStatusBelow: number;
}

export type HealthChange = 'became-healthy' | 'became-unhealthy' | null;

/** What the checker needs of a target (an Upstream). */
export interface HealthState {
  healthy: boolean;
  /** Never passed `healthyThreshold` probes since it was added. */
  pending: boolean;
  healthOk: number;
  healthFail: number;
  lastHealthError: string | null;
}

/** Folds one probe result into the target's streaks. */
export function applyProbe(u: HealthState, ok: boolean, policy: HealthPolicy, error: string | null): HealthChange {
  if (ok) {
    u.healthFail = 0;
    u.healthOk++;
    u.lastHealthError = null;
    if (!u.healthy && u.healthOk >= policy.healthyThreshold) {
      u.healthy = true;
      u.pending = false;
      return 'became-healthy';
    }
    return null;
  }
  u.healthOk = 0;
  u.healthFail++;
  u.lastHealthError = error;
  if (u.healthy && u.healthFail >= policy.unhealthyThreshold) {
    u.healthy = false;
    return 'became-unhealthy';
  }
  return null;
}

export async function probe(u: Upstream, policy: HealthPolicy): Promise<{ ok: boolean; error: string | null }> {
  try {
    const res = await u.probePool().request({
      path: policy.path,
      method: 'GET',
      headers: { 'user-agent': 'veer-health' },
      headersTimeout: policy.timeout,
      bodyTimeout: policy.timeout,
      signal: AbortSignal.timeout(policy.timeout),
    });
    await res.body.dump();
    const ok = res.statusCode < policy.expectStatusBelow;
    return { ok, error: ok ? null : `status ${res.statusCode}` };
  } catch (e) {
    const err = e as Error & { code?: string };
    return { ok: false, error: err.code ?? err.name ?? 'error' };
  }
}

interface Job {
  policy: HealthPolicy;
  timer: NodeJS.Timeout | null;
  stopped: boolean;
}

export class HealthChecker {
  private readonly jobs = new Map<Upstream, Job>();
  private readonly listeners = new Set<(u: Upstream, change: HealthChange) => void>();

  constructor(private readonly log: Logger) {}

  /**
   * Starts probing new upstreams, stops probing the ones no longer listed. An upstream not probed
   * until now is pending (no traffic) from this call on; one whose policy merely changed keeps its
   * verdict.
   */
  sync(assignments: ReadonlyMap<Upstream, HealthPolicy>): void {
    const carried = new Set<Upstream>();
    for (const [u, job] of this.jobs) {
      if (assignments.get(u) === job.policy) continue;
      if (assignments.has(u)) carried.add(u);
      this.stopJob(u, job, assignments.has(u));
    }
    for (const [u, policy] of assignments) {
      if (this.jobs.has(u)) continue;
      const job: Job = { policy, timer: null, stopped: false };
      this.jobs.set(u, job);
      if (!carried.has(u)) {
        u.healthy = false;
        u.pending = true;
      }
      this.schedule(u, job, 0);
    }
  }

  /** Called after every probe of any target (its verdict may or may not have changed). */
  onProbe(listener: (u: Upstream, change: HealthChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Whether `u` is probed at all. */
  checks(u: Upstream): boolean {
    return this.jobs.has(u);
  }

  private stopJob(u: Upstream, job: Job, keepVerdict = false): void {
    job.stopped = true;
    if (job.timer) clearTimeout(job.timer);
    this.jobs.delete(u);
    if (keepVerdict) return;
    // Health no longer checked: the verdict no longer applies either.
    u.healthy = true;
    u.pending = false;
    u.healthOk = 0;
    u.healthFail = 0;
  }

  private schedule(u: Upstream, job: Job, delay: number): void {
    job.timer = setTimeout(() => void this.run(u, job), delay);
    job.timer.unref();
  }

  private async run(u: Upstream, job: Job): Promise<void> {
    const r = await probe(u, job.policy);
    if (job.stopped) return;
    const change = applyProbe(u, r.ok, job.policy, r.error);
    if (change !== null)
      this.log.log(change === 'became-healthy' ? 'info' : 'warn', `target ${change.replace('became-', '')}`, {
        target: u.address.id,
        error: r.error,
      });
    for (const l of this.listeners) l(u, change);
    this.schedule(u, job, u.pending ? Math.min(job.policy.interval, PENDING_INTERVAL_MS) : job.policy.interval);
  }

  stop(): void {
    for (const [u, job] of this.jobs) this.stopJob(u, job);
  }
}
