// The service desk: what the admin API sees of the services (status, metrics, manual shift). It
// persists every weight change through the StateStore before it reports success, so a restarted
// proxy comes back with the weights it had.
import type { PoolMetrics, ServiceDirectory, ServiceStatus } from '../api/ports.js';
import type { DataPlane } from '../dataplane/dataplane.js';
import type { Clock } from '../domain/clock.js';
import { NotFoundError, err, ok, type Result } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import type { PoolName } from '../domain/pool.js';
import { bpToPercent, type BasisPoints } from '../domain/weight.js';
import type { MetricsRegistry } from '../metrics/registry.js';
import type { StateStore } from '../store/port.js';

/** Status metrics cover the last minute. */
const STATUS_WINDOW_MS = 60_000;

export interface RoutingRecord {
  weightBp: BasisPoints;
  updatedAt: string;
}

export const routingKey = (service: string): string => `routing/${service}`;

export class ServiceDesk implements ServiceDirectory {
  constructor(
    private readonly plane: DataPlane,
    private readonly metrics: MetricsRegistry,
    private readonly store: StateStore,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Weights persisted by an earlier run win over the config's initial weight. */
  static async persistedWeights(store: StateStore, names: readonly string[]): Promise<Map<string, BasisPoints>> {
    const out = new Map<string, BasisPoints>();
    for (const name of names) {
      const rec = await store.get<RoutingRecord>(routingKey(name));
      if (rec && Number.isInteger(rec.value.weightBp)) out.set(name, rec.value.weightBp);
    }
    return out;
  }

  list(): ServiceStatus[] {
    return this.plane.serviceNames().map((n) => this.get(n) as ServiceStatus);
  }

  get(name: string): ServiceStatus | undefined {
    const cfg = this.plane.serviceConfig(name);
    const weightBp = this.plane.weight(name);
    if (cfg === undefined || weightBp === undefined) return undefined;
    const targets = (pool: PoolName) => ({ targets: this.plane.targets(name, pool).map(({ id, healthy, ejected, outstanding }) => ({ id, healthy, ejected, outstanding })) });
    return {
      name,
      weight: bpToPercent(weightBp),
      match: { hosts: [...cfg.match.hosts], pathPrefix: cfg.match.pathPrefix },
      sticky: cfg.sticky ? { cookie: cfg.sticky.cookie } : null,
      pools: { stable: targets('stable'), canary: targets('canary') },
      metrics: { stable: this.poolMetrics(name, 'stable'), canary: this.poolMetrics(name, 'canary') },
      rollout: null,
    };
  }

  async shift(name: string, weightBp: BasisPoints): Promise<Result<ServiceStatus>> {
    if (this.plane.weight(name) === undefined) return err(new NotFoundError('service', name));
    const record: RoutingRecord = { weightBp, updatedAt: new Date(this.clock.now()).toISOString() };
    await this.store.put(routingKey(name), record);
    const from = this.plane.weight(name);
    this.plane.setWeight(name, weightBp);
    this.log.log('info', 'weight shifted', { service: name, from: bpToPercent(from ?? 0), to: bpToPercent(weightBp) });
    return ok(this.get(name) as ServiceStatus);
  }

  private poolMetrics(name: string, pool: PoolName): PoolMetrics {
    const s = this.metrics.summary(name, pool, STATUS_WINDOW_MS, this.clock.now());
    return { window: '60s', requests: s.requests, errors: s.errors, errorRate: s.errorRate, p50Ms: s.p50Ms, p95Ms: s.p95Ms, p99Ms: s.p99Ms };
  }
}
