// The data plane's face to the rest of veer: configure services, move weights, swap target lists,
// describe state, listen, drain. Every change builds a new immutable routing table and swaps it
// whole; upstream runtime state is carried over by target id.
import type { AddressInfo, Socket } from 'node:net';
import type { Config, ServiceConfig } from '../config/schema.js';
import type { PoolName } from '../domain/pool.js';
import type { BasisPoints } from '../domain/weight.js';
import type { TargetAddress } from '../domain/target.js';
import { AccessLog } from './access-log.js';
import { AnswerCounts } from './answers.js';
import { buildFrontDoor } from './front-door.js';
import { HealthChecker } from './health.js';
import { awaitHealthy, targetState, untilSettled, type TargetState } from './health-wait.js';
import { MaintenanceGate } from './maintenance.js';
import type { DataPlaneDeps, RoutePatch } from './plane-types.js';
import { applyFlags, restoreServices, takeSnapshot, type PlaneDelta, type PlaneSnapshot } from './plane-snapshot.js';
import { readPages } from './pages.js';
import { Readiness } from './readiness.js';
import { configuredState, healthSettleMs, type BuiltRoutes, type ServiceState } from './service-routes.js';
import { RoutedServices } from './routed-services.js';
import type { RoutingTable } from './table.js';
import { TargetWaits } from './target-wait.js';
import { compileTargeting } from './targeting.js';
import { UpstreamSet, upstreamOptionsOf, type Upstream } from './upstream.js';
import type { H2Sessions } from './h2-sessions.js';
import type { ProxyServer } from './server.js';
import type { AcmeChallenges } from './acme-challenge.js';
import type { TlsFront } from './tls-front.js';
import type { WebSocketProxy } from './websocket.js';
export type { DataPlaneDeps, RoutePatch } from './plane-types.js';

export class DataPlane {
  /** The services and the routing table built from them. */
  private readonly routed: RoutedServices;
  private readonly upstreams: UpstreamSet;
  private readonly health: HealthChecker;
  private readonly readiness = new Readiness();
  private readonly waits: TargetWaits;
  private readonly changes = new Set<() => void>();
  readonly maintenance = new MaintenanceGate(() => this.changed());
  private readonly server: ProxyServer;
  private readonly ws: WebSocketProxy;
  /** The HTTPS listener and its certificates (`tls.certificates`); null without a `tls` section. */
  readonly tls: TlsFront | null;
  private readonly h2: H2Sessions; // HTTP/2 connections from clients, over TLS or h2c on the plain port
  readonly challenges: AcmeChallenges; // ACME HTTP-01 challenges on the plain listener (the ACME side's lookup)
  /** Answers veer gave by itself (refused, cut, no target), by code. */
  readonly answers: AnswerCounts;
  /** `accessLog`: lines of requests as they close (reloaded with configure, reopened on SIGUSR1). */
  readonly accessLog: AccessLog;

  constructor(
    private readonly config: Pick<Config, 'listen' | 'proxy' | 'tls' | 'accessLog'>,
    private readonly deps: DataPlaneDeps,
  ) {
    const p = config.proxy;
    this.answers = new AnswerCounts(p.timeouts.body);
    this.upstreams = new UpstreamSet(upstreamOptionsOf(p));
    const env = { upstreams: this.upstreams, metrics: deps.metrics, timeouts: p.timeouts };
    this.routed = new RoutedServices(env, (built) => this.swapped(built));
    this.health = new HealthChecker(deps.log);
    this.accessLog = new AccessLog(config.accessLog, deps);
    this.waits = new TargetWaits(p.maxWaitingRequests);
    // Whatever can make a target usable lets waiting requests try again. Only a verdict that changed is a
    // change of state: with workers, each is a snapshot to compare (thousands of targets probed every few s).
    this.health.onProbe((_, change) => (this.waits.wake(), change !== null && this.changed()));
    this.readiness.onReady(() => (this.waits.wake(), this.changed()));
    const front = buildFrontDoor(config, {
      ...deps,
      answers: this.answers,
      waits: this.waits,
      table: () => this.routed.table,
      // A container that refuses is out until it answers again; one already taken out of routing
      // (compose removed it, veer has just heard) is gone: either way, wait for a replacement.
      refused: (u, why) => this.readiness.refused(u, why) || !this.upstreams.isLive(u),
      maintenance: this.maintenance.now,
      holds: this.maintenance.holds,
      access: this.accessLog,
    });
    [this.server, this.ws, this.tls, this.h2] = [front.server, front.ws, front.tls, front.h2];
    this.challenges = front.challenges;
  }

  /** Replaces the service set. Weights not given keep their current value, else the config's. */
  configure(services: readonly ServiceConfig[], weights: ReadonlyMap<string, BasisPoints> = new Map()): void {
    const next = new Map<string, ServiceState>();
    for (const s of services)
      next.set(s.name, configuredState(s, this.routed.get(s.name), weights.get(s.name), readPages(s, this.deps.log)));
    this.replaceServices(next);
  }

  /** What a rebuild reads, as plain data: a data plane that applies it routes exactly as this one. */
  snapshot(): PlaneSnapshot {
    return takeSnapshot(this.routed.values(), this.upstreams.all(), this.maintenance.entries());
  }

  /**
   * Routes from another data plane's snapshot, or its change since the last one (a worker's, from the
   * primary): one table swap. False, with nothing applied, for a delta taken against another snapshot.
   */
  applySnapshot(snap: PlaneSnapshot | PlaneDelta): boolean {
    const env = { pages: (c: ServiceConfig) => readPages(c, this.deps.log), compile: this.compile };
    const next = restoreServices(snap, this.routed, env);
    if (next === null) return false;
    // The same services as before: only the changed ones are put (nothing to look through for removals).
    if ('names' in snap && snap.names === null) this.routed.put(next);
    else this.replaceServices(next);
    applyFlags(this.upstreams, snap.targets);
    this.maintenance.replace(snap.maintenance);
    this.waits.wake();
    return true;
  }

  /** Runs `fn`, whose updates of many services (a start, a reload) swap the table once, when it ends. */
  batch(fn: () => void): void {
    this.routed.batch(fn);
  }

  /** `listener` runs after every change a snapshot would show (routes, verdicts, maintenance). */
  onChange(listener: () => void): void {
    this.changes.add(listener);
  }

  /** Changes weight and/or pools in ONE routing-table swap (a promotion must never be seen half-done). */
  update(name: string, patch: RoutePatch): boolean {
    const s = this.routed.get(name);
    if (!s) return false;
    if (patch.weightBp !== undefined) s.weightBp = patch.weightBp;
    if (patch.retryCanaryOnStable !== undefined) s.retryOverride = patch.retryCanaryOnStable;
    if (patch.rolloutId !== undefined) s.rolloutId = patch.rolloutId;
    if (patch.targeting !== undefined) [s.rules, s.targeting] = [patch.targeting, this.compile(patch.targeting, name)];
    s.targets = { stable: patch.stable ?? s.targets.stable, canary: patch.canary ?? s.targets.canary };
    this.routed.touched(name);
    return true;
  }

  poolTargets(name: string, pool: PoolName): readonly TargetAddress[] {
    return this.routed.get(name)?.targets[pool] ?? [];
  }

  /** Waits for targets out of routing to finish (bounded; then 504 drain_timeout), then ends their tunnels. */
  async drain(ids: readonly string[], timeoutMs: number): Promise<{ drained: boolean; cut: number; tunnels: number }> {
    const r = await this.upstreams.drain(ids, timeoutMs);
    const wanted = new Set(ids);
    const tunnels = this.ws.closeWhere((u) => wanted.has(u.address.id) && !this.upstreams.isLive(u));
    return { ...r, tunnels };
  }

  weight(name: string): BasisPoints | undefined {
    return this.routed.get(name)?.weightBp;
  }

  serviceNames(): string[] {
    return this.routed.names();
  }

  serviceConfig(name: string): ServiceConfig | undefined {
    return this.routed.get(name)?.config;
  }

  current(): RoutingTable {
    return this.routed.table;
  }

  targets(name: string, pool: PoolName): TargetState[] {
    const now = this.deps.clock.now();
    const checked = (u: Upstream): boolean => this.health.checks(u) || this.readiness.watches(u);
    return (this.routed.table.routes.get(name)?.[pool].targets ?? []).map((u) => targetState(u, checked(u), now));
  }

  /** Once every target in `ids` passed its health check (at once without one), or why not by `deadline` (ms). */
  awaitHealthy(name: string, pool: PoolName, ids: readonly string[], deadline: number, signal?: AbortSignal) {
    const targets = (): readonly Upstream[] => this.routed.table.routes.get(name)?.[pool].targets ?? [];
    return awaitHealthy({ health: this.health, clock: this.deps.clock, targets }, ids, deadline, signal);
  }

  /**
   * At start: until every health-checked target had a first verdict (every container a first readiness
   * probe), as long as the slowest service needs to pass its threshold, never more than `capMs`.
   */
  settleHealth(capMs = 10_000): Promise<void> {
    const unsettled = (): boolean =>
      this.upstreams.all().some((u) => u.pending && u.lastHealthError === null && this.health.checks(u));
    const settleMs = Math.min(healthSettleMs(this.routed.values()), capMs);
    // Containers probed for the first time answer within milliseconds when they listen.
    const ready = this.readiness.settled(Math.min(2_000, capMs));
    return Promise.all([untilSettled(this.health, unsettled, settleMs), ready]).then(() => undefined);
  }

  /** Again with another address (a reload): the new one accepts before the old one stops; connections stay. */
  listen(at: { host: string; port: number } = this.config.listen): Promise<AddressInfo> {
    return this.server.listen(at.host, at.port);
  }

  /** The HTTPS listener (`tls.listen`), or null without a `tls` section; `bound`: the primary's (workers). */
  listenTls(bound?: AddressInfo): Promise<AddressInfo | null> {
    return this.tls?.listen(bound) ?? Promise.resolve(null);
  }

  /** A connection the primary of `workers: N` accepted on `listen` or `tls.listen` (its workers bind nothing). */
  adopt(port: 'data' | 'tls', socket: Socket): void {
    if (port === 'tls' && this.tls !== null) return this.tls.adopt(socket);
    this.server.adopt(socket);
  }

  /** Requests waiting for a target now (timeouts.waitForTarget). */
  get waiting(): number {
    return this.waits.size;
  }

  get inFlight(): number {
    return this.server.inFlight + this.h2.streams;
  }

  async close(graceMs: number): Promise<{ drained: boolean; abandoned: number }> {
    // Requests waiting for a target are in flight: they may still be served within the grace.
    this.maintenance.holds.releaseAll();
    const [r] = await Promise.all([this.server.close(graceMs), this.tls?.close(), this.h2.close(graceMs)]);
    this.waits.expireAll();
    this.health.stop();
    this.readiness.stop();
    await this.upstreams.closeAll();
    await this.accessLog.close();
    return r;
  }

  /** After every swap: upstreams no table uses go, probes follow the new table, waiting requests look again. */
  private swapped(built: BuiltRoutes | null): void {
    if (built !== null) this.upstreams.release(built.inUse);
    if (built !== null && this.deps.probes !== false) {
      this.health.sync(built.checks);
      this.readiness.sync(built.containers);
    }
    this.waits.wake();
    this.changed();
  }

  private replaceServices(next: Map<string, ServiceState>): void {
    for (const name of this.deps.metrics.entries().map((e) => e.service))
      if (!next.has(name)) this.deps.metrics.remove(name);
    this.routed.replace(next);
  }

  private readonly compile = (rules: RoutePatch['targeting'] & object, service: string) =>
    compileTargeting(rules, (why) => this.deps.log.log('warn', why, { service }));

  private changed(): void {
    for (const l of this.changes) l();
  }
}
