// Ships each replica's finished per-second records to Redis, where HINCRBY sums the replicas: the
// hash of one (service, pool, second) ends up exactly what a single process seeing all the traffic
// would have counted, because every replica uses the same bucket edges (histogram.ts).
//
// The request path never waits on Redis: records go to the in-process windows, and this flusher
// reads them once a second. A second is shipped once it is over (plus a grace for requests that were
// timed just before the boundary) and never again, so a retry can only resend records that did not
// arrive. While Redis is away, records wait in a per-pool buffer whose oldest entries are dropped,
// and counted, beyond a bound: an outage costs memory only up to that bound.

import type { Clock } from '../domain/clock.js';
import { silentLogger, type Logger } from '../domain/log.js';
import type { PoolName } from '../domain/pool.js';
import type { MetricsRegistry } from './registry.js';
import type { PoolWindow, SecondRecord } from './window.js';

/** The slice of an ioredis pipeline the flusher uses (ioredis' `Redis#pipeline()` fits). */
export interface FlushPipeline {
  hincrby(key: string, field: string, increment: number): FlushPipeline;
  expire(key: string, seconds: number): FlushPipeline;
  zadd(key: string, ...args: (string | number)[]): FlushPipeline;
  exec(): Promise<[Error | null, unknown][] | null>;
}

export interface FlushRedis {
  pipeline(): FlushPipeline;
}

export interface FlusherOptions {
  registry: MetricsRegistry;
  redis: FlushRedis;
  prefix: string;
  clock: Clock;
  log?: Logger;
  /** Lifetime of each per-second hash; longer than any analysis window that reads it. */
  ttlSeconds?: number;
  /** Per pool, how many unsent seconds are kept while Redis is away. */
  maxBufferedSeconds?: number;
  /** Upper bound on one flush round trip as seen by flushOnce()/stop(). */
  flushTimeoutMs?: number;
}

export interface FlusherStats {
  /** (service, pool, second) records Redis has acknowledged. */
  flushedSeconds: number;
  /** Records waiting to be sent, in flight included. */
  buffered: number;
  /** Records lost to the buffer bound (or only partly applied by Redis). */
  dropped: number;
  lastFlushAt: number | null;
  lastError: string | null;
}

export type FlushOutcome = 'sent' | 'idle' | 'failed' | 'timeout' | 'busy';

/** Requests are timed at their end; one that ends just after a boundary may still land in the earlier second. */
export const FLUSH_GRACE_MS = 200;
export const FLUSH_INTERVAL_MS = 1_000;

export function metricKey(prefix: string, service: string, pool: PoolName, sec: number): string {
  return `${prefix}:{${prefix}}:m:${service}:${pool}:${sec}`;
}

/** Sorted set whose one member's score is the newest second any replica has finished flushing. */
export function flushedMarkerKey(prefix: string): string {
  return `${prefix}:{${prefix}}:m:flushed`;
}
export const FLUSHED_MEMBER = 'newest';

/** Newest second that is complete at `nowMs`. */
export function lastCompleteSecond(nowMs: number): number {
  return Math.floor((nowMs - FLUSH_GRACE_MS) / 1000) - 1;
}

interface PoolQueue {
  service: string;
  pool: PoolName;
  records: SecondRecord[];
}

interface Batch {
  queues: { queue: PoolQueue; records: SecondRecord[] }[];
  marker: number | null;
}

const queueKey = (service: string, pool: PoolName): string => `${service}\u0000${pool}`;

type Settings = Required<Omit<FlusherOptions, 'registry' | 'redis'>>;

export class MetricsFlusher {
  private readonly registry: MetricsRegistry;
  private readonly redis: FlushRedis;
  private readonly o: Settings;
  /** Last second taken from each window; keyed by the window so a re-created service starts afresh. */
  private readonly cursors = new WeakMap<PoolWindow, number>();
  private readonly queues = new Map<string, PoolQueue>();
  private markedSec = -Infinity;
  private inFlight: Promise<FlushOutcome> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly counters = { flushedSeconds: 0, dropped: 0, inFlight: 0 };
  private lastFlushAt: number | null = null;
  private lastError: string | null = null;
  private failing = false;

  constructor({ registry, redis, ...rest }: FlusherOptions) {
    this.registry = registry;
    this.redis = redis;
    const { log, ttlSeconds = 1_200, maxBufferedSeconds = 600, flushTimeoutMs = 2_000 } = rest;
    this.o = { ...rest, log: log ?? silentLogger, ttlSeconds, maxBufferedSeconds, flushTimeoutMs };
    if (!(this.o.ttlSeconds >= 1) || !(this.o.maxBufferedSeconds >= 1))
      throw new RangeError('ttlSeconds and maxBufferedSeconds must be >= 1');
  }

  /** Flushes every second; the timer never keeps the process alive. */
  /**
   * Flushes just after each second's grace period ends (not on a free-running interval), so a
   * second reaches Redis about FLUSH_GRACE_MS after it finished instead of up to a second later.
   */
  start(): void {
    if (this.timer) return;
    const tick = (): void => {
      const now = this.o.clock.now();
      const next =
        (Math.floor((now - FLUSH_GRACE_MS) / FLUSH_INTERVAL_MS) + 1) * FLUSH_INTERVAL_MS + FLUSH_GRACE_MS + 5;
      this.timer = setTimeout(
        () => {
          void this.flushOnce();
          if (this.timer !== null) tick();
        },
        Math.max(1, next - now),
      );
      this.timer.unref();
    };
    tick();
  }

  /**
   * Final flush, each wait bounded by flushTimeoutMs. It includes the current, unfinished second:
   * call it once the data plane has stopped, or that second's later requests are never shipped.
   */
  async stop(): Promise<FlushOutcome> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.inFlight) await this.bounded(this.inFlight, this.o.flushTimeoutMs);
    if (this.inFlight) return 'timeout';
    const now = this.o.clock.now();
    return this.run(Math.floor(now / 1000), lastCompleteSecond(now));
  }

  /** One round trip with every finished, unsent second; 'busy' while a previous one is unanswered. */
  flushOnce(): Promise<FlushOutcome> {
    if (this.inFlight) return Promise.resolve('busy');
    const sec = lastCompleteSecond(this.o.clock.now());
    return this.run(sec, sec);
  }

  stats(): FlusherStats {
    let buffered = this.counters.inFlight;
    for (const q of this.queues.values()) buffered += q.records.length;
    const { flushedSeconds, dropped } = this.counters;
    return { flushedSeconds, buffered, dropped, lastFlushAt: this.lastFlushAt, lastError: this.lastError };
  }

  private run(upToSec: number, markerSec: number): Promise<FlushOutcome> {
    this.collect(upToSec);
    const batch = this.takeBatch(markerSec);
    if (batch.queues.length === 0 && batch.marker === null) return Promise.resolve('idle');
    const sending = this.send(batch).finally(() => {
      this.inFlight = null;
    });
    this.inFlight = sending;
    // On timeout the round trip goes on: its own completion settles the batch, so nothing is resent
    // while it might still arrive.
    return this.bounded(sending, this.o.flushTimeoutMs);
  }

  /** Moves every window's newly finished seconds into its pool's queue. */
  private collect(upToSec: number): void {
    for (const { service, pool, window } of this.registry.entries()) {
      const from = this.cursors.get(window);
      if (from !== undefined && from >= upToSec) continue;
      const fresh = window.seconds(from === undefined ? -Infinity : from + 1, upToSec).filter((r) => r.requests > 0);
      this.cursors.set(window, upToSec);
      if (fresh.length === 0) continue;
      const q = this.queueOf(service, pool);
      q.records.push(...fresh);
      this.trim(q);
    }
  }

  private queueOf(service: string, pool: PoolName): PoolQueue {
    const key = queueKey(service, pool);
    let q = this.queues.get(key);
    if (!q) {
      q = { service, pool, records: [] };
      this.queues.set(key, q);
    }
    return q;
  }

  private trim(q: PoolQueue): void {
    const excess = q.records.length - this.o.maxBufferedSeconds;
    if (excess <= 0) return;
    q.records.splice(0, excess);
    this.counters.dropped += excess;
  }

  private takeBatch(markerSec: number): Batch {
    const queues: Batch['queues'] = [];
    for (const queue of this.queues.values()) {
      if (queue.records.length === 0) continue;
      queues.push({ queue, records: queue.records });
      this.counters.inFlight += queue.records.length;
      queue.records = [];
    }
    return { queues, marker: markerSec > this.markedSec ? markerSec : null };
  }

  private async send(batch: Batch): Promise<FlushOutcome> {
    const p = this.redis.pipeline();
    const spans: number[] = [];
    for (const { queue, records } of batch.queues) {
      for (const rec of records) spans.push(this.addRecord(p, queue, rec));
    }
    const marker = flushedMarkerKey(this.o.prefix);
    if (batch.marker !== null) p.zadd(marker, 'GT', batch.marker, FLUSHED_MEMBER).expire(marker, this.o.ttlSeconds);
    let replies: Replies;
    try {
      replies = (await p.exec()) ?? new Error('pipeline aborted');
    } catch (e) {
      replies = e instanceof Error ? e : new Error(String(e));
    }
    return this.settle(batch, spans, replies);
  }

  /** Queues one record's commands; returns how many HINCRBYs (the EXPIRE after them not counted). */
  private addRecord(p: FlushPipeline, q: PoolQueue, rec: SecondRecord): number {
    const key = metricKey(this.o.prefix, q.service, q.pool, rec.sec);
    p.hincrby(key, 'r', rec.requests)
      .hincrby(key, 'e', rec.errors)
      .hincrby(key, 'c', rec.connectErrors)
      .hincrby(key, 't', rec.timeouts);
    let n = 4;
    for (let i = 0; i < rec.latency.length; i++) {
      const c = rec.latency[i] as number;
      if (c === 0) continue;
      p.hincrby(key, `b${i}`, c);
      n++;
    }
    p.expire(key, this.o.ttlSeconds);
    return n;
  }

  /**
   * Decides per record from its HINCRBY replies: none applied → back in the buffer, all applied →
   * flushed, some applied → dropped, since resending would count the applied part twice.
   */
  private settle(batch: Batch, spans: number[], replies: Replies): FlushOutcome {
    let at = 0;
    let k = 0;
    let failed = 0;
    for (const { queue, records } of batch.queues) {
      const retry: SecondRecord[] = [];
      for (const rec of records) {
        const span = spans[k++] as number;
        const errors = countErrors(replies, at, span);
        at += span + 1;
        if (errors === 0) this.counters.flushedSeconds++;
        else if (errors === span) retry.push(rec);
        else this.counters.dropped++;
        if (errors > 0) failed++;
      }
      this.counters.inFlight -= records.length;
      this.requeue(queue, retry);
    }
    const markerOk = batch.marker === null || countErrors(replies, at, 1) === 0;
    if (markerOk && batch.marker !== null) this.markedSec = Math.max(this.markedSec, batch.marker);
    return failed === 0 && markerOk ? this.succeeded() : this.failed(replies);
  }

  private requeue(q: PoolQueue, older: SecondRecord[]): void {
    if (older.length === 0) return;
    q.records.unshift(...older);
    this.trim(q);
  }

  private succeeded(): FlushOutcome {
    if (this.failing) this.o.log.log('info', 'metrics flush recovered', { dropped: this.counters.dropped });
    this.failing = false;
    this.lastError = null;
    this.lastFlushAt = this.o.clock.now();
    return 'sent';
  }

  private failed(replies: Replies): FlushOutcome {
    const first = replies instanceof Error ? replies : replies.find(([e]) => e !== null)?.[0];
    this.lastError = first?.message ?? 'missing reply';
    // One line per outage, not one per second.
    if (!this.failing)
      this.o.log.log('warn', 'metrics flush failed; buffering', { error: this.lastError, ...this.stats() });
    this.failing = true;
    return 'failed';
  }

  private async bounded(p: Promise<FlushOutcome>, ms: number): Promise<FlushOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<FlushOutcome>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(0, ms));
      timer.unref();
    });
    try {
      return await Promise.race([p, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Per-command replies of one exec, or why there were none. */
type Replies = [Error | null, unknown][] | Error;

function countErrors(replies: Replies, at: number, span: number): number {
  if (replies instanceof Error) return span;
  let n = 0;
  for (let i = at; i < at + span; i++) if (!replies[i] || replies[i]?.[0]) n++;
  return n;
}
