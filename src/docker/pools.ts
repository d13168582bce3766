// Keeps Docker membership current: lists the containers each service's selector finds on every
// engine, follows the engines' event streams (start, die, health_status, …), re-lists after a
// reconnect (events may have been missed) and on a slow timer as a backstop, and records a service's
// serving containers only when they changed. The record is an input of routing, never routing
// itself: which generation is stable or canary is the projection's call. An engine that does not
// answer never empties a pool: its containers keep their last known membership, marked stale
// (engine-state.ts), while health checks and outlier ejection protect traffic, and are reconciled
// by the first listing that succeeds again.
import { KeyedQueue, withTimeout } from '../domain/async.js';
import { errorMessage } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import type { Member } from '../domain/route.js';
import { EngineStates, withStale } from './engine-state.js';
import { matchesSelector, observe, type DockerService } from './membership.js';
import { LABEL, type ContainerDriver, type ContainerView, type EngineEvent } from './port.js';

export interface PoolsDeps {
  engines: readonly ContainerDriver[];
  /** The services now configured (a reload may remove one: it is no longer followed). */
  services(): readonly DockerService[];
  owner: string;
  /** The recorded membership (read by every replica's routing). */
  membership: { current(service: string): Member[] | null; record(service: string, members: Member[]): Promise<void> };
  /** Only the replica that leads records membership (followers route by what it records). */
  leading(): boolean;
  log: Logger;
  /** Recompute from the cache this often (rollout phases change without Docker events). */
  syncMs?: number;
  /** Re-list every engine this often, in case an event was lost. */
  relistMs?: number;
  /** Bound on one list/inspect round against an engine. */
  callTimeoutMs?: number;
}

export class DockerPools {
  private readonly engines: EngineStates;
  private readonly problems = new Map<string, string>();
  private readonly queue = new KeyedQueue();
  private readonly stops: Array<() => void> = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private syncing: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(private readonly d: PoolsDeps) {
    this.engines = new EngineStates(d.engines.map((e) => e.endpoint));
  }

  /** First listing (an engine that does not answer starts out down), then events and timers. */
  async start(): Promise<void> {
    await Promise.all(this.d.engines.map((e) => this.serial(e, () => this.relist(e))));
    for (const e of this.d.engines) this.stops.push(e.watch((ev) => this.onEvent(e, ev)));
    const tick = setInterval(() => void this.sync(), this.d.syncMs ?? 1_000);
    const relist = setInterval(() => {
      for (const e of this.d.engines) void this.serial(e, () => this.relist(e));
    }, this.d.relistMs ?? 30_000);
    tick.unref();
    relist.unref();
    this.timers.push(tick, relist);
    await this.sync();
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.stops.splice(0)) s();
    for (const t of this.timers.splice(0)) clearInterval(t);
  }

  /** Recomputes every service's pools and writes the ones that changed (coalesced). */
  sync(): Promise<void> {
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      try {
        do {
          this.again = false;
          for (const svc of this.d.services()) await this.syncService(svc);
        } while (this.again && !this.stopped);
      } catch (e) {
        this.d.log.log('warn', 'docker pool sync failed', { error: String(e) });
      } finally {
        this.syncing = null;
      }
    })();
    return this.syncing;
  }

  private async syncService(svc: DockerService): Promise<void> {
    if (this.stopped || !this.d.leading()) return;
    const hostOf = (endpoint: string): string =>
      this.d.engines.find((e) => e.endpoint === endpoint)?.publishedHost ?? '127.0.0.1';
    const seen = observe(svc, this.engines.live(), this.d.owner, hostOf);
    const last = observe(svc, this.engines.stale(), this.d.owner, hostOf).members;
    const recorded = this.d.membership.current(svc.name);
    // A pool pinned to one endpoint can only have members there.
    const within = (e: string): boolean => [svc.stable, svc.canary].some((p) => p && (p.endpoint ?? e) === e);
    const members = withStale(seen.members, last, this.engines.unknown(within) ? recorded : null);
    if (JSON.stringify(members) !== JSON.stringify(recorded)) {
      await this.d.membership.record(svc.name, members);
      const stale = members.filter((m) => m.stale).length;
      this.d.log.log('info', 'docker membership changed', { service: svc.name, serving: members.length, stale });
    }
    // Said once per change, not on every sync.
    const said = seen.problems.join('\n');
    if (said !== (this.problems.get(svc.name) ?? ''))
      for (const p of seen.problems)
        this.d.log.log('warn', 'docker container cannot be routed to', { service: svc.name, problem: p });
    this.problems.set(svc.name, said);
  }

  private relevant(c: ContainerView): boolean {
    if (c.labels[LABEL.owner] === this.d.owner) return true;
    return this.d
      .services()
      .some((s) => matchesSelector(c, s.stable) || (s.canary !== undefined && matchesSelector(c, s.canary)));
  }

  /** Replaces an engine's cache with what it lists now: one listing per selector plus veer's own. */
  private async relist(e: ContainerDriver): Promise<void> {
    const selectors: Array<Record<string, string>> = [{ [LABEL.owner]: this.d.owner }];
    for (const s of this.d.services()) {
      for (const spec of [s.stable, s.canary])
        if (spec && (spec.endpoint === undefined || spec.endpoint === e.endpoint)) selectors.push(spec.selector);
    }
    try {
      const lists = await this.bounded(
        Promise.all(selectors.map((labels) => e.list({ all: false, labels }))),
        `listing containers on ${e.endpoint}`,
      );
      const byId = new Map<string, ContainerView>();
      for (const c of lists.flat()) if (this.relevant(c)) byId.set(c.id, c);
      if (this.engines.answered(e.endpoint, byId) === 'back')
        this.d.log.log('info', 'docker endpoint answers again; its membership is reconciled', {
          endpoint: e.endpoint,
          containers: byId.size,
        });
    } catch (err) {
      this.markDown(e.endpoint, errorMessage(err));
    }
    void this.sync();
  }

  private onEvent(e: ContainerDriver, ev: EngineEvent): void {
    if (this.stopped) return;
    switch (ev.type) {
      case 'up':
        void this.serial(e, () => this.relist(e));
        return;
      case 'down':
        // A dropped stream is not a dead engine (an idle TCP/ssh connection cut, a proxy timeout);
        // if listing fails too, the engine's containers stay members, marked stale.
        this.d.log.log('warn', 'docker event stream lost; reconnecting', { endpoint: e.endpoint, error: ev.error });
        void this.serial(e, () => this.relist(e));
        return;
      case 'changed':
        void this.serial(e, () => this.refresh(e, ev.id));
        return;
    }
  }

  private async refresh(e: ContainerDriver, id: string): Promise<void> {
    const byId = this.engines.of(e.endpoint);
    try {
      const c = await this.bounded(e.inspect(id), `inspecting ${id} on ${e.endpoint}`);
      if (c && this.relevant(c)) byId.set(id, c);
      else byId.delete(id);
    } catch (err) {
      // The engine answered the event but not the inspect: the next relist settles it.
      this.d.log.log('warn', 'docker inspect after an event failed', { endpoint: e.endpoint, id, error: String(err) });
      return;
    }
    void this.sync();
  }

  /** Said once per transition (the relist timer and reconnects keep failing while it is down). */
  private markDown(endpoint: string, error: string): void {
    const known = this.engines.wasListed(endpoint);
    if (this.engines.failed(endpoint, error) !== 'down') return;
    this.d.log.log(
      'warn',
      known
        ? 'docker endpoint does not answer; its containers stay in the pools, marked stale, until it answers'
        : 'docker endpoint does not answer; the membership recorded before is kept, marked stale, until it answers',
      { endpoint, error, containers: this.engines.of(endpoint).size },
    );
  }

  private bounded<T>(p: Promise<T>, what: string): Promise<T> {
    return withTimeout(p, this.d.callTimeoutMs ?? 15_000, what);
  }

  /** One engine's list/inspect calls in order, so an older answer never overwrites a newer one. */
  private serial(e: ContainerDriver, fn: () => Promise<void>): Promise<void> {
    return this.queue.run(e.endpoint, fn);
  }
}
