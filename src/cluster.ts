// Wiring for several replicas sharing one Redis (part of main's wiring, kept apart to stay readable):
// metric deltas flushed every second, the leader lease driving the rollout controller, the replica
// registry behind GET /v1/cluster. Concrete pieces are put together here and in main.ts only.
import type { ClusterView } from './api/ports.js';
import type { Clock } from './domain/clock.js';
import type { Logger } from './domain/log.js';
import { MetricsFlusher } from './metrics/flusher.js';
import type { ExtraMetric } from './metrics/prometheus.js';
import type { MetricsRegistry } from './metrics/registry.js';
import { ClockOffset } from './store/clock-offset.js';
import { Lease } from './store/lease.js';
import type { RedisStore } from './store/redis.js';
import { ReplicaRegistry, type ReplicaEntry } from './store/replicas.js';
import { takeOver, unrefSleep, type Leadership } from './takeover.js';

export interface ClusterDeps {
  redis: RedisStore;
  prefix: string;
  self: string;
  leaseTtlMs: number;
  clock: Clock;
  log: Logger;
  metrics: MetricsRegistry;
  version: string;
  /** When this replica's seconds are complete enough to ship (see MetricsFlusher's graceMs). */
  flushGraceMs?: number;
  /** The newest second that is whole here, when that is known (workers); see MetricsFlusher's lastComplete. */
  flushLastComplete?: (nowMs: number) => number;
}

/** The registry is read this often for /v1/cluster (answers stay synchronous and cheap). */
const VIEW_REFRESH_MS = 1000;

export class ClusterMembership {
  private readonly flusher: MetricsFlusher;
  private readonly lease: Lease;
  /** This replica's clock against Redis's, measured by the heartbeats; the flusher keys seconds on Redis's. */
  private readonly offset: ClockOffset;
  private registry: ReplicaRegistry | null = null;
  private replicas: ReplicaEntry[] = [];
  private leaderId: string | null = null;
  /** Whether the last read of the lease and registry succeeded: without it, nobody else's lead is known. */
  private known = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly d: ClusterDeps) {
    const raw = d.redis.raw();
    const offset = (this.offset = new ClockOffset(d.log));
    this.flusher = new MetricsFlusher({
      secondsAhead: () => offset.secondsAhead(),
      registry: d.metrics,
      redis: raw,
      prefix: d.prefix,
      clock: d.clock,
      log: d.log,
      replica: d.self,
      ...(d.flushGraceMs === undefined ? {} : { graceMs: d.flushGraceMs }),
      ...(d.flushLastComplete === undefined ? {} : { lastComplete: d.flushLastComplete }),
    });
    this.lease = new Lease(raw, { prefix: d.prefix, id: d.self, ttlMs: d.leaseTtlMs, log: d.log });
  }

  /**
   * Joins before this replica serves a request: registered (the first heartbeat awaited) and flushing, so
   * the leader waits for its seconds from the first one it serves in (a replica it does not know of could
   * be left out of a second judged complete). A first heartbeat that fails does not hold the start; the
   * next one, a second later, registers it.
   */
  async join(adminUrl: string): Promise<void> {
    if (this.registry !== null) return;
    this.registry = new ReplicaRegistry(this.d.redis.raw(), {
      prefix: this.d.prefix,
      id: this.d.self,
      info: { adminUrl, version: this.d.version },
      log: this.d.log,
      offset: this.offset,
      clock: this.d.clock,
    });
    this.flusher.start();
    await this.registry.start();
  }

  /** Competes for the lease, which then drives `rollouts` (after `join`, once this replica serves). */
  async start(rollouts: Leadership): Promise<void> {
    this.lease.onAcquire((token) =>
      takeOver(rollouts, token, { held: () => this.lease.token() === token, log: this.d.log, sleep: unrefSleep }),
    );
    this.lease.onLose((reason) => {
      // The cached leader id may still be ours: forget it, so a woken stale leader never names itself.
      if (this.leaderId === this.d.self) this.leaderId = null;
      rollouts.follow(`lease ${reason}`);
    });
    await this.lease.start();
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), VIEW_REFRESH_MS);
    this.timer.unref();
  }

  /** For /metrics: how far Redis's clock is ahead of this replica's (once a heartbeat has measured it). */
  families(): ExtraMetric[] {
    const ms = this.offset.offsetMs();
    const samples = ms === null ? [] : [{ labels: {}, value: ms / 1000 }];
    const help = "Redis's clock (TIME) minus this replica's, from the heartbeats (median of the last few).";
    return [{ name: 'veer_redis_clock_offset_seconds', help, type: 'gauge', samples }];
  }

  /** Whole seconds Redis's clock is ahead of this replica's (the flusher's and judge's shift); null until measured. */
  secondsAhead(): number | null {
    return this.offset.offsetMs() === null ? null : this.offset.secondsAhead();
  }

  /** Ids of the replicas alive now (this one before the registry started). */
  async liveIds(): Promise<string[]> {
    if (this.registry === null) return [this.d.self];
    const ids = (await this.registry.list()).map((r) => r.id);
    return ids.includes(this.d.self) ? ids : [...ids, this.d.self];
  }

  view(): ClusterView {
    // Only the live lease may say "me": a cached id naming ourselves is stale by definition. Another
    // replica is named only while the store answers: during an outage this replica cannot know.
    const known = this.known && this.d.redis.status() === 'up';
    const other = known && this.leaderId !== this.d.self ? this.leaderId : null;
    const leader = this.lease.isLeader() ? this.d.self : other;
    return {
      self: this.d.self,
      leader,
      replicas: this.replicas.map((r) => ({ id: r.id, seenAt: r.seenAt, adminUrl: r.adminUrl })),
    };
  }

  /** Leaves the cluster: releases the lease, deregisters, ships the last metric deltas (bounded). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.lease.stop();
    await this.registry?.stop();
    await this.flusher.stop();
  }

  private async refresh(): Promise<void> {
    try {
      this.replicas = (await this.registry?.list()) ?? [];
      this.leaderId = (await this.lease.leader())?.id ?? null;
      this.known = true;
    } catch {
      // Redis down: keep the last list of replicas, but claim no leader; /readyz reports the store as degraded.
      this.known = false;
    }
  }
}
