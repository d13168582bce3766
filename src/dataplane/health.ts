// Active HTTP health checks. A target turns unhealthy after `unhealthyThreshold` failed probes in a
// row and healthy again after `healthyThreshold` good ones; the balancer skips unhealthy targets.
// Targets start healthy so a proxy restart does not black-hole traffic while the first probes run;
// passive ejection covers a target that is dead from the start.
import type { Logger } from '../domain/log.js';
import type { Upstream } from './upstream.js';

export interface HealthPolicy {
  path: string;
  interval: number;
  timeout: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  expectStatusBelow: number;
}

export type HealthChange = 'became-healthy' | 'became-unhealthy' | null;

/** Folds one probe result into the target's streaks. */
export function applyProbe(u: Upstream, ok: boolean, policy: HealthPolicy, error: string | null): HealthChange {
  if (ok) {
    u.healthFail = 0;
    u.healthOk++;
    u.lastHealthError = null;
    if (!u.healthy && u.healthOk >= policy.healthyThreshold) {
      u.healthy = true;
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
    const res = await u.pool.request({
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

  constructor(private readonly log: Logger) {}

  /** Starts probing new upstreams, stops probing the ones no longer listed. */
  sync(assignments: ReadonlyMap<Upstream, HealthPolicy>): void {
    for (const [u, job] of this.jobs) {
      if (assignments.get(u) === job.policy) continue;
      this.stopJob(u, job);
    }
    for (const [u, policy] of assignments) {
      if (this.jobs.has(u)) continue;
      const job: Job = { policy, timer: null, stopped: false };
      this.jobs.set(u, job);
      this.schedule(u, job, 0);
    }
  }

  private stopJob(u: Upstream, job: Job): void {
    job.stopped = true;
    if (job.timer) clearTimeout(job.timer);
    this.jobs.delete(u);
    // Health no longer checked: the verdict no longer applies either.
    u.healthy = true;
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
    if (change !== null) this.log.log(change === 'became-healthy' ? 'info' : 'warn', `target ${change.replace('became-', '')}`, { target: u.address.id, error: r.error });
    this.schedule(u, job, job.policy.interval);
  }

  stop(): void {
    for (const [u, job] of this.jobs) this.stopJob(u, job);
  }
}
