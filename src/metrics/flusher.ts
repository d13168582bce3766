// Ships each replica's finished per-second records to Redis, where HINCRBY sums the replicas: the
// hash of one (service, pool, second) ends up exactly what a single process seeing all the traffic
// would have counted, because every replica uses the same bucket edges (histogram.ts).
//
// The request path never waits on Redis: records go to the in-process windows, and this flusher
// reads them once a second. A second is shipped once it is over (plus a grace for requests that were
// timed just before the boundary) and never again, so a retry can only resend records known not to have
// arrived (refused, or never sent); one whose reply timed out may yet be applied, so it is dropped and
// counted rather than risk being counted twice. While Redis is away, records wait in a per-pool buffer
// whose oldest entries are dropped, and counted, beyond a bound: an outage costs memory only that much,
// and CPU only one probe a second (drain() says why).
import { settledWithin } from '../domain/async.js';
import type { Clock } from '../domain/clock.js';
import { settledSecond } from '../domain/second.js';
import { silentLogger, type Logger } from '../domain/log.js';
import { FlushBuffer } from './flush-buffer.js';
import { buildTrip, sendMark, type Trip } from './flush-trip.js';
import { countErrors, surelyUnapplied, unreachable } from './flush-pipeline.js';
import type { FlushOutcome, FlushRedis, Replies } from './flush-pipeline.js';
import type { MetricsRegistry } from './registry.js';
import { replicaMark } from './flush-marks.js';
import type { SecondRecord } from './window.js';

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
  /** Commands per round trip at most: a backlog goes in several (a record is ~10 commands). */
  maxCommandsPerTrip?: number;
  /** How long after a second ends it is shipped (FLUSH_GRACE_MS; longer when workers send theirs first). */
  graceMs?: number;
  /**
   * The newest second that is whole at `nowMs` (default: the one that ended graceMs ago). With workers, the
   * newest every worker has shipped: a second is shipped once and never again, so not before it is whole.
   */
  lastComplete?: (nowMs: number) => number;
  /** This replica's id: its own mark says which seconds it has shipped (flush-marks.ts). */
  replica?: string;
  /** Whole seconds Redis's clock is ahead of `clock` (store/clock-offset.ts): seconds are keyed on Redis's. */
  secondsAhead?: () => number;
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

/** Requests are timed at their end; one that ends just after a boundary may still land in the earlier second. */
export const FLUSH_GRACE_MS = 200;
export const FLUSH_INTERVAL_MS = 1_000;

/** `upTo`: the second it completes; `own`: what it does to this replica's own mark; `leaving`: the last one. */
type Flush = { marker: number | null; upTo: number; own: 'mark' | 'unmark' | null; leaving: boolean; ahead: number };

type Settings = Required<Omit<FlusherOptions, 'registry' | 'redis' | 'lastComplete' | 'replica'>>;

export class MetricsFlusher {
  private readonly registry: MetricsRegistry;
  private readonly redis: FlushRedis;
  private readonly o: Settings;
  private readonly buffer: FlushBuffer;
  private markedSec = -Infinity;
  private ownMarked = -Infinity; // the second this replica's own mark says (flush-marks.ts)
  private inFlight: Promise<FlushOutcome> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly counters = { flushedSeconds: 0, dropped: 0, inFlight: 0 };
  private lastFlushAt: number | null = null;
  private lastError: string | null = null;
  private failing = false;
  private readonly lastComplete: (nowMs: number) => number;
  private readonly mark: string | null;

  constructor({ registry, redis, lastComplete, replica, ...rest }: FlusherOptions) {
    this.registry = registry;
    this.mark = replica === undefined ? null : replicaMark(replica);
    this.redis = redis;
    const { ttlSeconds = 1_200, maxBufferedSeconds = 600, flushTimeoutMs = 2_000, graceMs = FLUSH_GRACE_MS } = rest;
    const { maxCommandsPerTrip = 1_000, secondsAhead = () => 0, log = silentLogger } = rest;
    const more = { maxCommandsPerTrip, secondsAhead, log };
    this.o = { ...rest, ttlSeconds, maxBufferedSeconds, flushTimeoutMs, graceMs, ...more };
    if (!(this.o.ttlSeconds >= 1) || !(this.o.maxBufferedSeconds >= 1) || !(maxCommandsPerTrip >= 1))
      throw new RangeError('ttlSeconds, maxBufferedSeconds and maxCommandsPerTrip must be >= 1');
    this.buffer = new FlushBuffer(this.o.maxBufferedSeconds);
    this.lastComplete = lastComplete ?? ((now) => settledSecond(now, this.o.graceMs));
  }

  /**
   * Flushes just after each second's grace period ends (not on a free-running interval), so a second reaches
   * Redis about FLUSH_GRACE_MS after it finished instead of up to a second later. The timer is unref'd.
   */
  start(): void {
    if (this.timer) return;
    const tick = (): void => {
      const now = this.o.clock.now();
      const grace = this.o.graceMs;
      const next = (Math.floor((now - grace) / FLUSH_INTERVAL_MS) + 1) * FLUSH_INTERVAL_MS + grace + 5;
      this.timer = setTimeout(() => (void this.flushOnce(), this.timer !== null && tick()), Math.max(1, next - now));
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
    if (this.inFlight) await settledWithin(this.inFlight, this.o.flushTimeoutMs);
    if (this.inFlight) return 'timeout';
    const now = this.o.clock.now();
    return this.run(Math.floor(now / 1000), this.lastComplete(now), true);
  }

  /** One round trip with every finished, unsent second; 'busy' while a previous one is unanswered. */
  flushOnce(): Promise<FlushOutcome> {
    if (this.inFlight) return Promise.resolve('busy');
    const sec = this.lastComplete(this.o.clock.now());
    return this.run(sec, sec);
  }

  stats(): FlusherStats {
    const buffered = this.counters.inFlight + this.buffer.size;
    const { flushedSeconds, dropped } = this.counters;
    return { flushedSeconds, buffered, dropped, lastFlushAt: this.lastFlushAt, lastError: this.lastError };
  }

  private async run(upToSec: number, markerSec: number, leaving = false): Promise<FlushOutcome> {
    this.counters.dropped += this.buffer.collect(this.registry.entries(), upToSec);
    const ahead = this.o.secondsAhead();
    const upTo = markerSec + ahead; // marks and keys name Redis's seconds
    const own = this.mark === null ? null : leaving ? 'unmark' : upTo > this.ownMarked ? 'mark' : null;
    const flush: Flush = { marker: upTo > this.markedSec ? upTo : null, upTo, own, leaving, ahead };
    if (this.buffer.size === 0 && flush.marker === null && own === null) return 'idle';
    const sending = this.drain(flush).finally(() => {
      this.inFlight = null;
    });
    this.inFlight = sending;
    // On timeout the round trip goes on: its own completion settles the batch, so nothing is resent
    // while it might still arrive.
    return (await settledWithin(sending, this.o.flushTimeoutMs)) ? sending : 'timeout';
  }

  /**
   * While Redis is away, a flush sends nothing but one probe: ioredis refuses each command with an Error (a stack
   * trace) and a timer, and a pipeline of the whole backlog, once a second, held the event loop for seconds. Once
   * Redis answers, the backlog goes in round trips of maxCommandsPerTrip commands, the loop free between them,
   * until it is empty or half the time bound is spent (the next flushes send the rest; the last flush, all).
   */
  private async drain(flush: Flush): Promise<FlushOutcome> {
    const down = await unreachable(this.redis, this.failing);
    if (down) return this.failed(down);
    const started = this.o.clock.now();
    const half = this.o.flushTimeoutMs / 2;
    let outcome: FlushOutcome;
    do outcome = await this.trip(flush);
    while (outcome === 'sent' && this.buffer.size > 0 && (flush.leaving || this.o.clock.now() - started < half));
    return this.mark === null || flush.own === null ? outcome : this.markOwn(flush, outcome, this.mark);
  }

  /** One round trip: the oldest share of the backlog, and the marker once that empties it. */
  private async trip(flush: Flush): Promise<FlushOutcome> {
    const { prefix, ttlSeconds, maxCommandsPerTrip: budget } = this.o;
    const trip = buildTrip(this.redis, this.buffer, {
      prefix,
      ttlSeconds,
      budget,
      marker: flush.marker,
      ahead: flush.ahead,
    });
    if (trip.spans.length === 0 && trip.marker === null) return this.succeeded();
    for (const { records } of trip.queues) this.counters.inFlight += records.length;
    return this.settle(trip, await trip.exec());
  }

  /**
   * This replica's mark (flush-marks.ts), once every record up to its second is applied and none waits to be
   * resent: in a round trip of its own, since a pipeline is no transaction (a mark sent along could be applied
   * while a record was refused). A replica that leaves removes it; a failed mark waits for the next flush.
   * Marks of replicas that died without leaving go once older than the hashes they stood for.
   */
  private async markOwn(batch: Flush, outcome: FlushOutcome, mark: string): Promise<FlushOutcome> {
    if (outcome !== 'sent' || this.buffer.size > 0) return outcome;
    if (batch.own === null || !(await sendMark(this.redis, this.o, mark, batch.own, batch.upTo))) return outcome;
    this.ownMarked = batch.own === 'unmark' ? Infinity : batch.upTo;
    return outcome;
  }

  /**
   * Decides per record from its HINCRBY replies: none applied → back in the buffer, all applied →
   * flushed, some applied → dropped, since resending would count the applied part twice. "None applied"
   * only when known (refused by Redis, or never sent): a reply that timed out may still be applied.
   */
  private settle({ queues, marker, spans }: Trip, replies: Replies): FlushOutcome {
    let at = 0;
    let k = 0;
    let failed = 0;
    for (const { queue, records } of queues) {
      const retry: SecondRecord[] = [];
      for (const rec of records) {
        const span = spans[k++] as number;
        const errors = countErrors(replies, at, span);
        const resend = errors === span && surelyUnapplied(replies, at, span);
        at += span + 1;
        if (errors === 0) this.counters.flushedSeconds++;
        else if (resend) retry.push(rec);
        else this.counters.dropped++;
        if (errors > 0) failed++;
      }
      this.counters.inFlight -= records.length;
      this.counters.dropped += this.buffer.giveBack(queue, retry);
    }
    const markerOk = marker === null || countErrors(replies, at, 1) === 0;
    if (markerOk && marker !== null) this.markedSec = Math.max(this.markedSec, marker);
    return failed === 0 && markerOk ? this.succeeded() : this.failed(replies);
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
}
