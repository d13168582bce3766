// The routing book: the persisted truth of each service's weight and pool membership, applied to the
// data plane. Every change is written to the StateStore before the data plane sees it, so a
// restarted proxy routes exactly as before (including a promotion that replaced the stable pool).
// Pools written by a rollout win over the config's lists until the config's lists change.
import { createHash } from 'node:crypto';
import type { ServiceConfig } from '../config/schema.js';
import type { Clock } from '../domain/clock.js';
import type { PoolName } from '../domain/pool.js';
import { parseTarget, type TargetAddress } from '../domain/target.js';
import type { BasisPoints } from '../domain/weight.js';
import type { StateStore } from '../store/port.js';

export interface RoutingRecord {
  weightBp: BasisPoints;
  stable: string[] | null;
  canary: string[] | null;
  /** Hash of the config's pool lists when the record was written. */
  configHash: string;
  /** The running rollout's retryCanaryOnStable (null: the config's). */
  retryCanaryOnStable?: boolean | null;
  updatedAt: string;
}

/** What the routing book needs of the data plane. */
export interface RoutingTarget {
  update(
    name: string,
    patch: {
      weightBp?: BasisPoints;
      stable?: readonly TargetAddress[];
      canary?: readonly TargetAddress[];
      retryCanaryOnStable?: boolean | null;
    },
  ): boolean;
  weight(name: string): BasisPoints | undefined;
  poolTargets(name: string, pool: PoolName): readonly TargetAddress[];
}

export const routingKey = (service: string): string => `routing/${service}`;

function configHash(s: ServiceConfig): string {
  const ids = { stable: s.stable.targets.map((t) => t.id), canary: s.canary.targets.map((t) => t.id) };
  return createHash('sha256').update(JSON.stringify(ids)).digest('hex').slice(0, 16);
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((id, i) => id === y[i]);
}

function toAddresses(ids: readonly string[]): TargetAddress[] {
  const out: TargetAddress[] = [];
  for (const id of ids) {
    const r = parseTarget(id);
    if (r.ok) out.push(r.target);
  }
  return out;
}

type RoutingPatch = {
  weightBp?: BasisPoints;
  stable?: readonly TargetAddress[];
  canary?: readonly TargetAddress[];
  retryCanaryOnStable?: boolean | null;
};

/** A store that tells when a key changed (the Redis adapter; a single process needs none). */
export interface ChangeFeed {
  onChange(listener: (key: string, version: number) => void): () => void;
  onReconnect(listener: () => void): () => void;
}

/** Other replicas' changes are also re-read on this period, so a missed notification heals. */
const REREAD_MS = 1000;

export class RoutingBook {
  private readonly hashes = new Map<string, string>();
  /** Highest record version applied per service: versions are applied monotonically, never backwards. */
  private readonly applied = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: Array<() => void> = [];

  constructor(
    private readonly plane: RoutingTarget,
    private readonly store: StateStore,
    private readonly clock: Clock,
  ) {}

  /** Applies persisted weights and pools over the configured ones. */
  async restore(services: readonly ServiceConfig[]): Promise<void> {
    for (const s of services) this.hashes.set(s.name, configHash(s));
    await this.rereadAll();
  }

  /** Follows routing written by other replicas: change notifications, reconnects and a timer. */
  follow(feed: ChangeFeed): void {
    this.unsubscribe.push(
      feed.onChange((key, version) => {
        if (!key.startsWith('routing/')) return;
        const service = key.slice('routing/'.length);
        if (this.hashes.has(service) && version > (this.applied.get(service) ?? 0))
          void this.reread(service).catch(() => undefined);
      }),
      feed.onReconnect(() => void this.afterReconnect().catch(() => undefined)),
    );
    this.timer = setInterval(() => void this.rereadAll().catch(() => undefined), REREAD_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
  }

  /**
   * The store may have restarted empty: version numbers can start over, so the next read is taken as
   * it is, and a record that is gone is written back from what this replica routes now.
   */
  private async afterReconnect(): Promise<void> {
    this.applied.clear();
    for (const service of this.hashes.keys()) {
      if ((await this.store.get<RoutingRecord>(routingKey(service))) === null) await this.write(service, {});
    }
    await this.rereadAll();
  }

  private async rereadAll(): Promise<void> {
    for (const service of this.hashes.keys()) await this.reread(service);
  }

  private async reread(service: string): Promise<void> {
    const rec = await this.store.get<RoutingRecord>(routingKey(service));
    if (!rec || rec.version <= (this.applied.get(service) ?? 0)) return;
    this.applied.set(service, rec.version);
    const r = rec.value;
    this.retry.set(service, r.retryCanaryOnStable ?? null);
    const samePools = r.configHash === this.hashes.get(service);
    this.plane.update(service, {
      weightBp: r.weightBp,
      retryCanaryOnStable: r.retryCanaryOnStable ?? null,
      ...(samePools && r.stable ? { stable: toAddresses(r.stable) } : {}),
      ...(samePools && r.canary ? { canary: toAddresses(r.canary) } : {}),
    });
  }

  weight(service: string): BasisPoints {
    return this.plane.weight(service) ?? 0;
  }

  pool(service: string, pool: PoolName): string[] {
    return this.plane.poolTargets(service, pool).map((t) => t.id);
  }

  setWeight(service: string, weightBp: BasisPoints): Promise<void> {
    return this.write(service, { weightBp });
  }

  setPool(service: string, pool: PoolName, ids: readonly string[]): Promise<void> {
    return this.write(service, pool === 'stable' ? { stable: toAddresses(ids) } : { canary: toAddresses(ids) });
  }

  /**
   * Pools computed by another source (Docker): `compute` runs in this service's write queue, so it
   * sees every earlier change (a promotion, say) and never overwrites it with a stale view. Writes
   * only what changed; returns the pools it changed.
   */
  syncPools(service: string, compute: () => { stable: string[]; canary: string[] | null }): Promise<PoolName[]> {
    let changed: PoolName[] = [];
    return this.write(service, () => {
      const want = compute();
      const patch: RoutingPatch = {};
      if (!sameIds(this.pool(service, 'stable'), want.stable)) patch.stable = toAddresses(want.stable);
      if (want.canary !== null && !sameIds(this.pool(service, 'canary'), want.canary))
        patch.canary = toAddresses(want.canary);
      changed = [...(patch.stable ? ['stable' as const] : []), ...(patch.canary ? ['canary' as const] : [])];
      return changed.length > 0 ? patch : null;
    }).then(() => changed);
  }

  /** A rollout's own retryCanaryOnStable for the time it runs (null: back to the config's). */
  setRetry(service: string, value: boolean | null): Promise<void> {
    return this.write(service, { retryCanaryOnStable: value });
  }

  /** The canary pool becomes the stable pool, the canary pool is emptied, weight 0: one swap. */
  promote(service: string): Promise<void> {
    // Read when the write runs, after any queued change to the canary pool.
    return this.write(service, () => ({ stable: this.plane.poolTargets(service, 'canary'), canary: [], weightBp: 0 }));
  }

  private readonly retry = new Map<string, boolean | null>();

  private readonly queues = new Map<string, Promise<unknown>>();

  /**
   * One service's writes in order: each record is built from the data plane as the previous write
   * left it, so two writers (the controller and the Docker pool watcher) never store a record that
   * lost the other's change.
   */
  /** A function patch is computed when its turn comes; null from it means "nothing to write". */
  private write(service: string, patch: RoutingPatch | (() => RoutingPatch | null)): Promise<void> {
    const prev = this.queues.get(service) ?? Promise.resolve();
    const next = prev.then(async () => {
      const p = typeof patch === 'function' ? patch() : patch;
      if (p !== null) await this.writeNow(service, p);
    });
    this.queues.set(
      service,
      next.catch(() => undefined),
    );
    return next;
  }

  private async writeNow(service: string, patch: RoutingPatch): Promise<void> {
    if (patch.retryCanaryOnStable !== undefined) this.retry.set(service, patch.retryCanaryOnStable);
    const stable = patch.stable ?? this.plane.poolTargets(service, 'stable');
    const canary = patch.canary ?? this.plane.poolTargets(service, 'canary');
    const record: RoutingRecord = {
      weightBp: patch.weightBp ?? this.weight(service),
      stable: stable.map((t) => t.id),
      canary: canary.map((t) => t.id),
      configHash: this.hashes.get(service) ?? '',
      retryCanaryOnStable: this.retry.get(service) ?? null,
      updatedAt: new Date(this.clock.now()).toISOString(),
    };
    const put = await this.store.put(routingKey(service), record);
    if (put.ok) this.applied.set(service, Math.max(put.version, this.applied.get(service) ?? 0));
    this.plane.update(service, patch);
  }
}
