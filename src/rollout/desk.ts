// The service desk: what the admin API sees of the services (status, metrics, manual shift). A manual
// shift is recorded by the controller (the operator's weight, or a pause of the running rollout at
// that weight); every replica's routing follows the record.
import type { PoolMetrics, RolloutStatus, ServiceDirectory, ServiceStatus } from '../api/ports.js';
import type { DataPlane } from '../dataplane/dataplane.js';
import type { Clock } from '../domain/clock.js';
import { NotFoundError, err, ok, type Result } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import type { PoolName } from '../domain/pool.js';
import type { Emit } from './transitions.js';
import { bpToPercent, type BasisPoints } from '../domain/weight.js';
import type { MetricsRegistry } from '../metrics/registry.js';

/** Status metrics cover the last minute. */
const STATUS_WINDOW_MS = 60_000;

export interface RolloutsView {
  status(service: string): RolloutStatus | null;
  shift(service: string, weightBp: number): Promise<Result<boolean>>;
}

/** The recorded Docker membership, as far as status needs it. */
export interface MembershipView {
  /** Addresses of the service's members whose engine does not answer (kept from its last listing). */
  staleTargets(service: string): ReadonlySet<string>;
}

export class ServiceDesk implements ServiceDirectory {
  constructor(
    private readonly plane: DataPlane,
    private readonly rollouts: RolloutsView,
    private readonly metrics: MetricsRegistry,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly emit: Emit,
    private readonly membership: MembershipView = { staleTargets: () => new Set() },
  ) {}

  list(): ServiceStatus[] {
    return this.plane.serviceNames().map((n) => this.get(n) as ServiceStatus);
  }

  get(name: string): ServiceStatus | undefined {
    const cfg = this.plane.serviceConfig(name);
    const weightBp = this.plane.weight(name);
    if (cfg === undefined || weightBp === undefined) return undefined;
    const stale = this.membership.staleTargets(name);
    const targets = (pool: PoolName) => ({
      targets: this.plane.targets(name, pool).map(({ id, healthy, health, ejected, outstanding }) => ({
        id,
        healthy,
        health,
        ejected,
        outstanding,
        stale: stale.has(id),
      })),
    });
    return {
      name,
      weight: bpToPercent(weightBp),
      match: { hosts: [...cfg.match.hosts], pathPrefix: cfg.match.pathPrefix },
      sticky: cfg.sticky ? { cookie: cfg.sticky.cookie } : null,
      pools: { stable: targets('stable'), canary: targets('canary') },
      metrics: { stable: this.poolMetrics(name, 'stable'), canary: this.poolMetrics(name, 'canary') },
      rollout: this.rollouts.status(name),
    };
  }

  async shift(name: string, weightBp: BasisPoints): Promise<Result<ServiceStatus>> {
    const from = this.plane.weight(name);
    if (from === undefined) return err(new NotFoundError('service', name));
    const during = await this.rollouts.shift(name, weightBp);
    if (!during.ok) return during;
    this.log.log('info', 'weight shifted', {
      service: name,
      from: bpToPercent(from),
      to: bpToPercent(weightBp),
      rolloutPaused: during.value,
    });
    const now = this.get(name) as ServiceStatus;
    // The weight is kept (a canary added later gets it), but nothing moves now: said, not left to be noticed.
    const idle = weightBp > 0 && now.pools.canary.targets.length === 0 ? ': the canary pool has no targets yet' : '';
    if (!during.value)
      this.emit({
        service: name,
        rolloutId: null,
        kind: 'shifted',
        phase: null,
        weight: bpToPercent(weightBp),
        message: `weight shifted by hand from ${bpToPercent(from)}% to ${bpToPercent(weightBp)}%${idle}`,
      });
    return ok(now);
  }

  private poolMetrics(name: string, pool: PoolName): PoolMetrics {
    const s = this.metrics.summary(name, pool, STATUS_WINDOW_MS, this.clock.now());
    return {
      window: '60s',
      requests: s.requests,
      errors: s.errors,
      errorRate: s.errorRate,
      p50Ms: s.p50Ms,
      p95Ms: s.p95Ms,
      p99Ms: s.p99Ms,
    };
  }
}
