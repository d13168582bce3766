// Every replica's routing: whenever one of a service's records changes, the route is computed again
// with routeFor and, if it differs, applied to the data plane in one table swap. Targets a rollout
// takes out of routing are drained here (this replica's in-flight requests, bounded), and each
// step is acknowledged in the store so the leader knows when no replica sends them traffic any more.
import { KeyedQueue } from '../domain/async.js';
import { errorMessage } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import type { Maintenance } from '../domain/maintenance.js';
import { routeFor, sameRoute, type Route, type RoutedService } from '../domain/route.js';
import { readStoredTarget, type TargetAddress } from '../domain/target.js';
import type { TargetingRule } from '../domain/targeting.js';
import type { BasisPoints } from '../domain/weight.js';
import type { Records } from './records.js';

/** What the projection needs of the data plane. */
export interface RoutePlane {
  update(
    name: string,
    patch: {
      weightBp: BasisPoints;
      stable: readonly TargetAddress[];
      canary: readonly TargetAddress[];
      retryCanaryOnStable: boolean | null;
      targeting: readonly TargetingRule[];
      rolloutId: string | null;
    },
  ): boolean;
  drain(ids: readonly string[], timeoutMs: number): Promise<{ drained: boolean; cut: number }>;
  /** Runs `fn`, whose updates (every service at once) swap the routing table once, when it ends. */
  batch(fn: () => void): void;
  maintenance: { set(name: string, m: Maintenance | null): void };
}

export interface RouteAcker {
  publish(service: string, routed: readonly string[], draining: readonly string[]): Promise<void>;
}

/** Drain bound when no rollout names one. */
const DEFAULT_DRAIN_MS = 30_000;

function toAddresses(ids: readonly string[]): TargetAddress[] {
  const out: TargetAddress[] = [];
  for (const id of ids) {
    const t = readStoredTarget(id);
    if (t !== null) out.push(t);
  }
  return out;
}

export interface ProjectionDeps {
  records: Records;
  plane: RoutePlane;
  acks: RouteAcker;
  services: readonly RoutedService[];
  log: Logger;
}

export class RouteProjector {
  private readonly routes = new Map<string, Route>();
  /** Targets this replica is still draining, per service. */
  private readonly draining = new Map<string, Set<string>>();
  private readonly ackQueue = new KeyedQueue();
  private byName: Map<string, RoutedService>;
  private off: (() => void) | null = null;
  private readonly work = new Set<Promise<void>>();

  constructor(private readonly d: ProjectionDeps) {
    this.byName = new Map(d.services.map((s) => [s.name, s]));
  }

  /** Applies every service's route from the records read so far, then follows their changes. */
  start(): void {
    this.d.plane.batch(() => {
      for (const name of this.byName.keys()) this.project(name);
    });
    this.off = this.d.records.onChange((service) => this.project(service));
  }

  stop(): void {
    this.off?.();
    this.off = null;
  }

  /** Settles background drains and acknowledgements (bounded by the drains' own bounds). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.work]);
  }

  /**
   * A reload changed the service set: every service is projected again, and a removed one is
   * acknowledged as routing nothing, so a retirement never waits for this replica.
   */
  setServices(services: readonly RoutedService[]): void {
    const removed = [...this.byName.keys()].filter((n) => !services.some((s) => s.name === n));
    this.byName = new Map(services.map((s) => [s.name, s]));
    for (const name of removed) {
      this.routes.delete(name);
      this.draining.delete(name);
      this.track(this.ackQueue.run(name, () => this.d.acks.publish(name, [], [])));
    }
    this.d.plane.batch(() => {
      for (const s of services) {
        // A changed config must be applied even when the route it gives looks the same.
        this.routes.delete(s.name);
        this.project(s.name);
      }
    });
  }

  route(service: string): Route | null {
    return this.routes.get(service) ?? null;
  }

  /** Computes the service's route now and applies it if it changed. */
  project(service: string): void {
    const s = this.byName.get(service);
    if (s === undefined) return;
    const r = this.d.records;
    this.d.plane.maintenance.set(service, r.maintenance(service));
    const rollout = r.rollout(service)?.value ?? null;
    const next = routeFor({ service: s, manual: r.manual(service), rollout, members: r.members(service) });
    const prev = this.routes.get(service);
    if (prev !== undefined && sameRoute(prev, next)) return;
    this.routes.set(service, next);
    this.d.plane.update(service, {
      weightBp: next.weightBp,
      stable: toAddresses(next.stable),
      canary: toAddresses(next.canary),
      retryCanaryOnStable: next.retryCanaryOnStable,
      targeting: next.targeting,
      rolloutId: next.rolloutId,
    });
    const before = new Set(prev ? [...prev.stable, ...prev.canary] : []);
    const newlyOut = next.draining.filter((id) => before.has(id));
    const drainMs = rollout?.policy.drainTimeout ?? DEFAULT_DRAIN_MS;
    this.track(this.acknowledge(service, newlyOut, drainMs));
  }

  /** Acknowledges the applied route at once, and again once this replica's drain of `out` ended. */
  private async acknowledge(service: string, out: readonly string[], drainMs: number): Promise<void> {
    const set = this.draining.get(service) ?? new Set<string>();
    this.draining.set(service, set);
    for (const id of out) set.add(id);
    await this.publish(service);
    if (out.length === 0) return;
    const r = await this.d.plane.drain(out, drainMs);
    if (!r.drained) this.d.log.log('warn', 'drain timed out; remaining requests cut', { service, cut: r.cut });
    for (const id of out) set.delete(id);
    await this.publish(service);
  }

  private publish(service: string): Promise<void> {
    return this.ackQueue.run(service, async () => {
      const route = this.routes.get(service);
      if (route === undefined) return;
      const draining = [...(this.draining.get(service) ?? [])];
      await this.d.acks.publish(service, [...route.stable, ...route.canary], draining);
    });
  }

  private track(p: Promise<void>): void {
    const q = p.catch((e: unknown) =>
      this.d.log.log('error', 'routing acknowledgement failed', { error: errorMessage(e) }),
    );
    this.work.add(q);
    void q.finally(() => this.work.delete(q));
  }
}
