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
  updatedAt: string;
}

/** What the routing book needs of the data plane. */
export interface RoutingTarget {
  update(name: string, patch: { weightBp?: BasisPoints; stable?: readonly TargetAddress[]; canary?: readonly TargetAddress[] }): boolean;
  weight(name: string): BasisPoints | undefined;
  poolTargets(name: string, pool: PoolName): readonly TargetAddress[];
}

export const routingKey = (service: string): string => `routing/${service}`;

function configHash(s: ServiceConfig): string {
  const ids = { stable: s.stable.targets.map((t) => t.id), canary: s.canary.targets.map((t) => t.id) };
  return createHash('sha256').update(JSON.stringify(ids)).digest('hex').slice(0, 16);
}

function toAddresses(ids: readonly string[]): TargetAddress[] {
  const out: TargetAddress[] = [];
  for (const id of ids) {
    const r = parseTarget(id);
    if (r.ok) out.push(r.target);
  }
  return out;
}

export class RoutingBook {
  private readonly hashes = new Map<string, string>();

  constructor(
    private readonly plane: RoutingTarget,
    private readonly store: StateStore,
    private readonly clock: Clock,
  ) {}

  /** Applies persisted weights and pools over the configured ones. */
  async restore(services: readonly ServiceConfig[]): Promise<void> {
    for (const s of services) {
      const hash = configHash(s);
      this.hashes.set(s.name, hash);
      const rec = (await this.store.get<RoutingRecord>(routingKey(s.name)))?.value;
      if (!rec) continue;
      const samePools = rec.configHash === hash;
      this.plane.update(s.name, {
        weightBp: rec.weightBp,
        ...(samePools && rec.stable ? { stable: toAddresses(rec.stable) } : {}),
        ...(samePools && rec.canary ? { canary: toAddresses(rec.canary) } : {}),
      });
    }
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

  /** The canary pool becomes the stable pool, the canary pool is emptied, weight 0: one swap. */
  promote(service: string): Promise<void> {
    const canary = this.plane.poolTargets(service, 'canary');
    return this.write(service, { stable: canary, canary: [], weightBp: 0 });
  }

  private async write(service: string, patch: { weightBp?: BasisPoints; stable?: readonly TargetAddress[]; canary?: readonly TargetAddress[] }): Promise<void> {
    const stable = patch.stable ?? this.plane.poolTargets(service, 'stable');
    const canary = patch.canary ?? this.plane.poolTargets(service, 'canary');
    const record: RoutingRecord = {
      weightBp: patch.weightBp ?? this.weight(service),
      stable: stable.map((t) => t.id),
      canary: canary.map((t) => t.id),
      configHash: this.hashes.get(service) ?? '',
      updatedAt: new Date(this.clock.now()).toISOString(),
    };
    await this.store.put(routingKey(service), record);
    this.plane.update(service, patch);
  }
}
