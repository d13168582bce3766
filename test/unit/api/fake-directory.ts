// A ServiceDirectory fake for API and CLI tests: records shifts, answers like the real one.
import type { AdminDeps, PoolMetrics, ServiceDirectory, ServiceStatus } from '../../../src/api/ports.js';
import { ConflictError, NotFoundError, err, ok, type Result } from '../../../src/domain/errors.js';

export function poolMetrics(over: Partial<PoolMetrics> = {}): PoolMetrics {
  return { window: '1m', requests: 0, errors: 0, errorRate: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, ...over };
}

export function fakeService(name: string, over: Partial<ServiceStatus> = {}): ServiceStatus {
  return {
    name,
    weight: 0,
    match: { hosts: ['*'], pathPrefix: '/' },
    sticky: null,
    pools: {
      stable: { targets: [{ id: '127.0.0.1:9001', healthy: true, ejected: false, outstanding: 0 }] },
      canary: { targets: [] },
    },
    metrics: { stable: poolMetrics(), canary: poolMetrics() },
    rollout: null,
    ...over,
  };
}

export class FakeDirectory implements ServiceDirectory {
  readonly shifts: Array<{ name: string; bp: number }> = [];
  /** Services whose shift is refused, as while a rollout drives them. */
  readonly locked = new Set<string>();
  private readonly byName = new Map<string, ServiceStatus>();

  constructor(services: ServiceStatus[]) {
    for (const s of services) this.byName.set(s.name, s);
  }

  list(): ServiceStatus[] {
    return [...this.byName.values()];
  }

  get(name: string): ServiceStatus | undefined {
    return this.byName.get(name);
  }

  async shift(name: string, weightBp: number): Promise<Result<ServiceStatus>> {
    const current = this.byName.get(name);
    if (!current) return err(new NotFoundError('service', name));
    if (this.locked.has(name)) return err(new ConflictError(`service '${name}' has a rollout in progress`, 'rollout_in_progress'));
    this.shifts.push({ name, bp: weightBp });
    const next = { ...current, weight: weightBp / 100 };
    this.byName.set(name, next);
    return ok(next);
  }
}

export function fakeDeps(directory: ServiceDirectory, over: Partial<AdminDeps> = {}): AdminDeps {
  return {
    services: directory,
    metricsText: () => '# TYPE veer_requests_total counter\nveer_requests_total{service="web",pool="stable"} 7\n',
    readiness: () => ({ ready: true, checks: { dataplane: 'ok', store: 'ok' } }),
    cluster: () => ({ self: 'r1', leader: 'r1', replicas: [{ id: 'r1', seenAt: '2024-01-01T00:00:00.000Z' }] }),
    token: '',
    version: '9.9.9-test',
    ...over,
  };
}
