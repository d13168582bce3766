// A ServiceDirectory fake for API and CLI tests: records shifts, answers like the real one. Also a
// RolloutControl fake that records calls and answers what the test scripted.
import type {
  AdminDeps,
  PoolMetrics,
  RolloutAction,
  RolloutControl,
  RolloutRequest,
  RolloutStatus,
  ServiceDirectory,
  ServiceStatus,
} from '../../../src/api/ports.js';
import { ConflictError, NotFoundError, err, ok, type Result } from '../../../src/domain/errors.js';
import { EventLog } from '../../../src/rollout/events.js';
import { rolloutPolicySchema } from '../../../src/config/schema.js';
import type { RolloutPolicy } from '../../../src/domain/rollout.js';

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
      stable: {
        targets: [{ id: '127.0.0.1:9001', healthy: true, health: 'unchecked', ejected: false, outstanding: 0 }],
      },
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

  /** Replaces (or adds) a service's status, as a rollout moving along would. */
  set(status: ServiceStatus): void {
    this.byName.set(status.name, status);
  }

  async shift(name: string, weightBp: number): Promise<Result<ServiceStatus>> {
    const current = this.byName.get(name);
    if (!current) return err(new NotFoundError('service', name));
    if (this.locked.has(name))
      return err(new ConflictError(`service '${name}' has a rollout in progress`, 'rollout_in_progress'));
    this.shifts.push({ name, bp: weightBp });
    const next = { ...current, weight: weightBp / 100 };
    this.byName.set(name, next);
    return ok(next);
  }
}

export function fakeRollout(over: Partial<RolloutStatus> = {}): RolloutStatus {
  return {
    id: 'r-1',
    strategy: 'canary',
    phase: 'progressing',
    step: 0,
    weight: 5,
    reason: null,
    startedAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
    steps: [5, 25, 100],
    stepStartedAt: '2024-01-01T00:00:00.000Z',
    failures: 0,
    canary: { targets: ['127.0.0.1:9101'] },
    lastVerdict: null,
    ...over,
  };
}

export type ActOptions = { full: boolean; reason: string | null };

/** Records every call; answers with `startResult`/`actResult` when set, else a plausible status. */
export class FakeRollouts implements RolloutControl {
  readonly starts: Array<{ service: string; req: RolloutRequest }> = [];
  readonly acts: Array<{ service: string; action: RolloutAction; opts: ActOptions }> = [];
  startResult: ((service: string, req: RolloutRequest) => Result<RolloutStatus>) | null = null;
  actResult: ((service: string, action: RolloutAction, opts: ActOptions) => Result<RolloutStatus>) | null = null;

  constructor(private readonly known: (service: string) => boolean = () => true) {}

  policyOf(service: string): RolloutPolicy | undefined {
    return this.known(service) ? rolloutPolicySchema.parse({}) : undefined;
  }

  async start(service: string, req: RolloutRequest): Promise<Result<RolloutStatus>> {
    this.starts.push({ service, req });
    if (!this.known(service)) return err(new NotFoundError('service', service));
    if (this.startResult) return this.startResult(service, req);
    const targets = 'targets' in req.canary ? req.canary.targets : [];
    return ok(fakeRollout({ canary: { targets } }));
  }

  async act(service: string, action: RolloutAction, opts: ActOptions): Promise<Result<RolloutStatus>> {
    this.acts.push({ service, action, opts });
    if (!this.known(service)) return err(new NotFoundError('service', service));
    if (this.actResult) return this.actResult(service, action, opts);
    return ok(
      fakeRollout({ phase: action === 'pause' ? 'paused' : action === 'abort' ? 'rolling-back' : 'progressing' }),
    );
  }
}

export const fixedClock = { now: () => Date.parse('2024-01-01T00:00:00.000Z') };

export function fakeDeps(directory: ServiceDirectory, over: Partial<AdminDeps> = {}): AdminDeps {
  return {
    services: directory,
    rollouts: new FakeRollouts((name) => directory.get(name) !== undefined),
    events: new EventLog({ clock: fixedClock }),
    metricsText: () => '# TYPE veer_requests_total counter\nveer_requests_total{service="web",pool="stable"} 7\n',
    readiness: () => ({ ready: true, checks: { dataplane: 'ok', store: 'ok' } }),
    cluster: () => ({ self: 'r1', leader: 'r1', replicas: [{ id: 'r1', seenAt: '2024-01-01T00:00:00.000Z' }] }),
    isSelf: () => null,
    token: '',
    version: '9.9.9-test',
    ...over,
  };
}
