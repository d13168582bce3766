// The data plane's face to the rest of veer: configure services, move weights, swap target lists,
// describe state, listen, drain. Every change builds a new immutable routing table and swaps it
// whole; upstream runtime state is carried over by target id.
import type { AddressInfo } from 'node:net';
import type { Config, ServiceConfig } from '../config/schema.js';
import type { Clock, Random } from '../domain/clock.js';
import type { Logger } from '../domain/log.js';
import type { PoolName } from '../domain/pool.js';
import type { TargetAddress } from '../domain/target.js';
import type { BasisPoints } from '../domain/weight.js';
import type { MetricsRegistry } from '../metrics/registry.js';
import { trustedProxyMatcher } from './headers.js';
import { HealthChecker, type HealthPolicy } from './health.js';
import { Ingress } from './ingress.js';
import { ProxyServer } from './server.js';
import { buildTable, stickyRuntime, type PoolRuntime, type RoutingTable, type ServiceRoute } from './table.js';
import { UpstreamSet, type Upstream } from './upstream.js';
import { WebSocketProxy } from './websocket.js';

export interface DataPlaneDeps {
  clock: Clock;
  random: Random;
  log: Logger;
  metrics: MetricsRegistry;
}

export interface RoutePatch {
  weightBp?: BasisPoints;
  stable?: readonly TargetAddress[];
  canary?: readonly TargetAddress[];
  /** null = back to the service config's value. */
  retryCanaryOnStable?: boolean | null;
}

export interface TargetState {
  id: string;
  healthy: boolean;
  ejected: boolean;
  outstanding: number;
  lastHealthError: string | null;
}

interface ServiceState {
  config: ServiceConfig;
  targets: Record<PoolName, readonly TargetAddress[]>;
  weightBp: BasisPoints;
  /** A running rollout's own retryCanaryOnStable; null = the service config's. */
  retryOverride: boolean | null;
}

export class DataPlane {
  private table: RoutingTable = buildTable(0, []);
  private readonly services = new Map<string, ServiceState>();
  private readonly upstreams: UpstreamSet;
  private readonly health: HealthChecker;
  private readonly server: ProxyServer;
  private readonly ws: WebSocketProxy;

  constructor(
    private readonly config: Pick<Config, 'listen' | 'proxy'>,
    private readonly deps: DataPlaneDeps,
  ) {
    const p = config.proxy;
    const t = p.timeouts;
    this.upstreams = new UpstreamSet({ connectTimeout: t.connect, idleTimeout: t.upstreamIdle, connections: p.connectionsPerTarget, headersTimeout: t.header, bodyTimeout: t.body });
    this.health = new HealthChecker(deps.log);
    const shared = {
      clock: deps.clock,
      random: deps.random,
      overrideHeader: p.overrideHeader === false ? null : p.overrideHeader.toLowerCase(),
      viaPseudonym: p.via,
      isTrusted: trustedProxyMatcher(p.trustedProxies),
    };
    const current = (): RoutingTable => this.table;
    const ingress = new Ingress({ ...shared, headersTimeout: t.header, bodyTimeout: t.body, retryConnectErrors: p.retryConnectErrors }, current);
    this.ws = new WebSocketProxy(shared, current);
    this.server = new ProxyServer(
      { keepAliveTimeout: t.clientKeepAlive, headersTimeout: t.clientHeader, requestTimeout: t.clientRequest, maxHeaderSize: p.maxHeaderSize },
      { request: ingress.handle, upgrade: this.ws.handle, closeUpgraded: () => this.ws.closeAll() },
    );
  }

  /** Replaces the service set. Weights not given keep their current value, else the config's. */
  configure(services: readonly ServiceConfig[], weights: ReadonlyMap<string, BasisPoints> = new Map()): void {
    const next = new Map<string, ServiceState>();
    for (const s of services) {
      const prev = this.services.get(s.name);
      next.set(s.name, {
        config: s,
        targets: { stable: s.stable.targets, canary: s.canary.targets },
        weightBp: weights.get(s.name) ?? prev?.weightBp ?? s.weight,
        retryOverride: prev?.retryOverride ?? null,
      });
    }
    this.services.clear();
    for (const [k, v] of next) this.services.set(k, v);
    for (const name of this.deps.metrics.entries().map((e) => e.service)) if (!next.has(name)) this.deps.metrics.remove(name);
    this.rebuild();
  }

  setWeight(name: string, weightBp: BasisPoints): boolean {
    return this.update(name, { weightBp });
  }

  setTargets(name: string, pool: PoolName, targets: readonly TargetAddress[]): boolean {
    return this.update(name, pool === 'stable' ? { stable: targets } : { canary: targets });
  }

  /** Changes weight and/or pools in ONE routing-table swap (a promotion must never be seen half-done). */
  update(name: string, patch: RoutePatch): boolean {
    const s = this.services.get(name);
    if (!s) return false;
    if (patch.weightBp !== undefined) s.weightBp = patch.weightBp;
    if (patch.retryCanaryOnStable !== undefined) s.retryOverride = patch.retryCanaryOnStable;
    s.targets = { stable: patch.stable ?? s.targets.stable, canary: patch.canary ?? s.targets.canary };
    this.rebuild();
    return true;
  }

  poolTargets(name: string, pool: PoolName): readonly TargetAddress[] {
    return this.services.get(name)?.targets[pool] ?? [];
  }

  /** Waits for targets taken out of routing to finish their in-flight requests (bounded). */
  drain(ids: readonly string[], timeoutMs: number): Promise<{ drained: boolean; cut: number }> {
    return this.upstreams.drain(ids, timeoutMs);
  }

  weight(name: string): BasisPoints | undefined {
    return this.services.get(name)?.weightBp;
  }

  serviceNames(): string[] {
    return [...this.services.keys()];
  }

  serviceConfig(name: string): ServiceConfig | undefined {
    return this.services.get(name)?.config;
  }

  current(): RoutingTable {
    return this.table;
  }

  targets(name: string, pool: PoolName): TargetState[] {
    const route = this.table.routes.get(name);
    if (!route) return [];
    const now = this.deps.clock.now();
    return route[pool].targets.map((u) => ({ id: u.address.id, healthy: u.healthy, ejected: u.ejectedUntil > now, outstanding: u.outstanding, lastHealthError: u.lastHealthError }));
  }

  listen(): Promise<AddressInfo> {
    return this.server.listen(this.config.listen.host, this.config.listen.port);
  }

  get inFlight(): number {
    return this.server.inFlight;
  }

  async close(graceMs: number): Promise<{ drained: boolean; abandoned: number }> {
    const r = await this.server.close(graceMs);
    this.health.stop();
    await this.upstreams.closeAll();
    return r;
  }

  private rebuild(): void {
    const routes: ServiceRoute[] = [];
    const inUse = new Set<string>();
    const checks = new Map<Upstream, HealthPolicy>();
    for (const s of this.services.values()) {
      const route = this.routeFor(s);
      routes.push(route);
      for (const u of [...route.stable.targets, ...route.canary.targets]) {
        inUse.add(u.address.id);
        const hc = s.config.healthCheck;
        if (hc?.enabled && !checks.has(u)) checks.set(u, hc);
      }
    }
    this.table = buildTable(this.table.version + 1, routes);
    this.upstreams.release(inUse);
    this.health.sync(checks);
  }

  private routeFor(s: ServiceState): ServiceRoute {
    const c = s.config;
    const pool = (name: PoolName): PoolRuntime => ({ name, targets: this.upstreams.acquire(s.targets[name]), window: this.deps.metrics.pool(c.name, name) });
    return {
      name: c.name,
      hosts: c.match.hosts,
      pathPrefix: c.match.pathPrefix,
      weightBp: s.weightBp,
      stable: pool('stable'),
      canary: pool('canary'),
      sticky: c.sticky ? stickyRuntime(c.sticky.cookie, c.sticky.maxAge, c.sticky.secure, c.sticky.sameSite) : null,
      outlier: c.outlier,
      retryCanaryOnStable: s.retryOverride ?? c.rollout.retryCanaryOnStable,
    };
  }
}
