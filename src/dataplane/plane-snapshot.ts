// What a routing-table rebuild reads, as plain data: another process's data plane (a worker's) that
// applies it routes exactly as this one. Services with their routed state, the verdicts of this
// data plane's health checks and readiness probes per target, and the maintenance switches. The
// data plane takes and applies snapshots; who carries them between processes is not its business.
import { isDeepStrictEqual } from 'node:util';
import type { ServiceConfig } from '../config/schema.js';
import type { TargetingRule } from '../domain/targeting.js';
import type { TargetAddress } from '../domain/target.js';
import type { BasisPoints } from '../domain/weight.js';
import type { MaintenanceNow } from './maintenance.js';
import type { ServicePages } from './pages.js';
import type { ServiceState } from './service-routes.js';
import type { Targeting } from './targeting.js';
import type { Upstream } from './upstream.js';

export interface ServiceSnapshot {
  config: ServiceConfig;
  weightBp: BasisPoints;
  stable: readonly TargetAddress[];
  canary: readonly TargetAddress[];
  retryOverride: boolean | null;
  targeting: readonly TargetingRule[];
  rolloutId: string | null;
  /** The stamp of the pages read from its files (pages.ts): another one is read again. */
  pages: string;
}

/** One upstream's verdicts, by its key in the UpstreamSet (service, target, connection options). */
export interface TargetFlags {
  key: string;
  healthy: boolean;
  pending: boolean;
  ready: boolean;
  wasReady: boolean;
}

export interface PlaneSnapshot {
  services: ServiceSnapshot[];
  targets: TargetFlags[];
  maintenance: Array<[string, MaintenanceNow]>;
}

export function takeSnapshot(
  services: Iterable<ServiceState>,
  upstreams: Iterable<Upstream>,
  maintenance: Iterable<[string, MaintenanceNow]>,
): PlaneSnapshot {
  const out: PlaneSnapshot = { services: [], targets: [], maintenance: [...maintenance] };
  for (const s of services)
    out.services.push({
      config: s.config,
      weightBp: s.weightBp,
      stable: s.targets.stable,
      canary: s.targets.canary,
      retryOverride: s.retryOverride,
      targeting: s.rules,
      rolloutId: s.rolloutId,
      pages: s.pages.stamp,
    });
  for (const u of upstreams)
    out.targets.push({ key: u.key, healthy: u.healthy, pending: u.pending, ready: u.ready, wasReady: u.wasReady });
  return out;
}

export interface RestoreEnv {
  pages(c: ServiceConfig): ServicePages;
  compile(rules: readonly TargetingRule[], service: string): Targeting | null;
}

/**
 * A snapshot told against the one before it (the feed's, workers/snapshot-diff.ts): every service's name
 * in order, and the state of only those new or changed since. A whole snapshot is one with every service.
 */
export interface PlaneDelta extends PlaneSnapshot {
  /** null: the same services in the same order as the snapshot before. */
  names: string[] | null;
}

/**
 * The service states a snapshot (or a delta) describes; a service it names without its state keeps its
 * state in `prev` (the same object, so its route is kept too). What is costly to derive (error pages read
 * from files, compiled targeting rules) is kept from `prev` while its inputs did not change. Null when a
 * delta names a service `prev` does not have (in `names`, or as a change to the same services): it was taken
 * against another snapshot than this one.
 */
export function restoreServices(
  snap: PlaneSnapshot | PlaneDelta,
  prev: { get(name: string): ServiceState | undefined },
  env: RestoreEnv,
): Map<string, ServiceState> | null {
  const given = new Map(snap.services.map((s) => [s.config.name, s]));
  const next = new Map<string, ServiceState>();
  const patch = 'names' in snap && snap.names === null;
  for (const name of 'names' in snap && snap.names !== null ? snap.names : given.keys()) {
    const s = given.get(name);
    const old = prev.get(name);
    if (s === undefined || (patch && old === undefined)) {
      if (old === undefined) return null;
      next.set(name, old);
      continue;
    }
    const sameConfig = old !== undefined && isDeepStrictEqual(old.config, s.config);
    const sameRules = old !== undefined && isDeepStrictEqual(old.rules, s.targeting);
    next.set(name, {
      // The same object when equal: a route built from it is known unchanged without comparing again.
      config: sameConfig ? old.config : s.config,
      targets: { stable: s.stable, canary: s.canary },
      weightBp: s.weightBp,
      retryOverride: s.retryOverride,
      rules: s.targeting,
      targeting: sameRules ? old.targeting : env.compile(s.targeting, name),
      rolloutId: s.rolloutId,
      pages: sameConfig && old.pages.stamp === s.pages ? old.pages : env.pages(s.config),
    });
  }
  return next;
}

/** Sets each upstream's verdicts from the snapshot; one it does not name keeps its own. */
export function applyFlags(upstreams: { get(key: string): Upstream | undefined }, flags: readonly TargetFlags[]) {
  for (const f of flags) {
    const u = upstreams.get(f.key);
    if (u === undefined) continue;
    u.healthy = f.healthy;
    u.pending = f.pending;
    u.ready = f.ready;
    u.wasReady = f.wasReady;
  }
}
