// The judge's view when several replicas serve one front door: every replica's per-second deltas,
// summed by Redis (see flusher.ts), read back in one round trip. Sums of integer counts on shared
// bucket edges, so the merged histogram — and every quantile of it — is exactly the one a single
// process would have seen.
//
// Redis only holds what replicas have flushed: a second is final once every replica has flushed it.
// Analysing a younger second would under-count it and never look at it again. Each replica marks the
// seconds it has shipped (flush-marks.ts), so a second is known final about FLUSH_GRACE_MS after it ends;
// without the marks (a replica late, gone, or not yet flushing) it is taken final after MERGE_SETTLE_MS.
//
// Replicas key their seconds on Redis's clock (flusher.ts), the controller counts on its own: times in and out of
// this source are on the reader's clock, shifted onto Redis's by the whole seconds this replica's flusher keys its
// own with (store/clock-offset.ts), held while reads go on (read-shift.ts). A leader 10 s ahead of Redis otherwise
// saw no replica alive (the registry is scored on Redis's clock) and judged a step's seconds 10 s late, the first
// 10 s never.

import { errorMessage, UnavailableError } from '../domain/errors.js';
import type { PoolName } from '../domain/pool.js';
import { replicasKey } from '../store/keys.js';
import { REPLICA_TTL_MS } from '../store/replicas.js';
import { completeSecond, markedLately } from './flush-marks.js';
import { settledSecond } from '../domain/second.js';
import { FLUSH_GRACE_MS, FLUSH_INTERVAL_MS } from './flusher.js';
import { ReadShift } from './read-shift.js';
import { addHash, FLUSHED_MEMBER, flushedMarkerKey, metricKey } from './second-hash.js';
import { emptyTotals, type WindowTotals } from './window.js';

/** The slice of an ioredis pipeline this source uses (ioredis' `Redis#pipeline()` fits). */
export interface ReadPipeline {
  hgetall(key: string): ReadPipeline;
  zscore(key: string, member: string): ReadPipeline;
  zrange(key: string, start: number, stop: number, withScores: 'WITHSCORES'): ReadPipeline;
  zrangebyscore(key: string, min: number, max: string): ReadPipeline;
  time(): ReadPipeline;
  exec(): Promise<[Error | null, unknown][] | null>;
}

export interface ReadRedis {
  pipeline(): ReadPipeline;
}

export interface MergedSourceOptions {
  redis: ReadRedis;
  prefix: string;
  /** Longest range read back from toMs; older hashes have expired anyway (the flusher's TTL). */
  maxRangeSeconds?: number;
  /** How long a replica's heartbeat says it is alive (the registry's ttl, replicas.ts). */
  replicaTtlMs?: number;
  /** How long a replica seen serving is waited for after Redis forgot it (a restart of Redis, a cut link). */
  rememberMs?: number;
  /** Whole seconds Redis's clock is ahead of this reader's: its flusher's shift (ClockOffset), null before it is
   * measured. Default 0. */
  secondsAhead?: () => number | null;
  /** A monotonic clock (ms) for how long reads paused (read-shift.ts). */
  monotonic?: () => number;
  /** How long reads may pause before the shift is taken anew (read-shift.ts; longer than any analysisInterval). */
  holdIdleMs?: () => number;
}

/** How long after a second ends until every healthy replica's share of it is in Redis (without marks). */
export const MERGE_SETTLE_MS = FLUSH_GRACE_MS + FLUSH_INTERVAL_MS + 800;
/** lastComplete's answer while no second can be told complete: before every second a rollout judges from. */
const NO_SECOND_YET = -1;

/**
 * What the rollout controller reads its traffic from. Declared here rather than imported from the
 * rollout code, which consumes metrics and must stay the one depending on them; TypeScript's
 * structural typing makes this source fit the controller's port all the same.
 */
export interface PoolTotalsSource {
  totals(service: string, pool: PoolName, fromMs: number, toMs: number): Promise<WindowTotals>;
  /** How long after a second ends its data is complete. */
  readonly settleMs?: number;
  /** The newest second whose data is complete at `nowMs`, when the source knows it; else settleMs says. */
  lastComplete?(nowMs: number): Promise<number>;
}

/** Redis's clock from a TIME reply ([seconds, microseconds]), in ms; null for anything else. */
export function timeReplyMs(reply: unknown): number | null {
  if (!Array.isArray(reply) || reply.length !== 2) return null;
  const ms = Number(reply[0]) * 1000 + Math.floor(Number(reply[1]) / 1000);
  return Number.isFinite(ms) ? ms : null;
}

/**
 * The newest second the fixed wait (MERGE_SETTLE_MS) allows, by this reader's clock (`nowMs`, shifted onto Redis's
 * by its measured offset) and by Redis's TIME, whichever is older: replicas key their seconds on Redis's clock
 * (flusher.ts), so a reader ahead of it (an offset not measured yet) would take seconds for settled before they are
 * flushed, and read them short once and for all.
 */
export function settledOnBoth(nowMs: number, time: unknown): number {
  const own = settledSecond(nowMs, MERGE_SETTLE_MS);
  const redisMs = timeReplyMs(time);
  return redisMs === null ? own : Math.min(own, settledSecond(redisMs, MERGE_SETTLE_MS));
}

export class MergedMetricsSource implements PoolTotalsSource {
  /** The controller analyses a second only once every replica has flushed it. */
  readonly settleMs = MERGE_SETTLE_MS;

  private readonly redis: ReadRedis;
  private readonly prefix: string;
  private readonly maxRange: number;
  private readonly replicaTtlMs: number;
  private readonly rememberMs: number;
  private readonly shift: ReadShift;
  /** Replica id → when it was last seen live or marking (this process's clock). */
  private readonly seen = new Map<string, number>();

  constructor(opts: MergedSourceOptions) {
    this.redis = opts.redis;
    this.prefix = opts.prefix;
    this.maxRange = opts.maxRangeSeconds ?? 1_200;
    this.replicaTtlMs = opts.replicaTtlMs ?? REPLICA_TTL_MS;
    this.rememberMs = opts.rememberMs ?? 10_000;
    const monotonic = opts.monotonic ?? (() => performance.now());
    this.shift = new ReadShift(opts.secondsAhead ?? (() => 0), monotonic, opts.holdIdleMs);
    if (!(this.maxRange >= 1)) throw new RangeError('maxRangeSeconds must be >= 1');
  }

  /**
   * Sum over every second that contains a point of [fromMs, toMs] (as PoolWindow.totals does), at
   * most maxRangeSeconds of them. Rejects with UnavailableError when Redis does not answer.
   */
  async totals(service: string, pool: PoolName, fromMs: number, toMs: number): Promise<WindowTotals> {
    const out = emptyTotals();
    const ahead = this.shift.take();
    const to = Math.floor(toMs / 1000) + ahead;
    const from = Math.max(Math.floor(fromMs / 1000) + ahead, to - this.maxRange + 1);
    if (from > to) return out;
    const p = this.redis.pipeline();
    for (let s = from; s <= to; s++) p.hgetall(metricKey(this.prefix, service, pool, s));
    const replies = await readAll(p, 'metrics');
    for (const [, hash] of replies) addHash(out, hash);
    return out;
  }

  /**
   * The newest second every replica has shipped (their marks, and the registry's live replicas, in one round
   * trip), never older than MERGE_SETTLE_MS allows: on this reader's clock, like `nowMs`. Rejects with
   * UnavailableError when Redis does not answer.
   */
  async lastComplete(nowMs: number): Promise<number> {
    // Before the first measurement of this reader's clock against Redis's, no second can be told complete: a guess
    // would read the wrong seconds (NO_SECOND_YET: older than any place a rollout keeps, so it waits).
    if (!this.shift.measured) return NO_SECOND_YET;
    const ahead = this.shift.take();
    const redisNow = nowMs + this.shift.now() * 1000; // heartbeats and marks are on Redis's clock
    const p = this.redis
      .pipeline()
      .zrange(flushedMarkerKey(this.prefix), 0, -1, 'WITHSCORES')
      .zrangebyscore(replicasKey(this.prefix), redisNow - this.replicaTtlMs, '+inf')
      .time();
    type Reply = [null, unknown];
    const [[, pairs], [, ids], [, time]] = (await readAll(p, 'flush marks')) as [Reply, Reply, Reply];
    const marks = new Map<string, number>();
    const flat = Array.isArray(pairs) ? pairs.map(String) : [];
    for (let i = 0; i + 1 < flat.length; i += 2) marks.set(flat[i] as string, Number(flat[i + 1]));
    const settled = settledOnBoth(redisNow, time);
    const alive = this.remember(nowMs, settled, Array.isArray(ids) ? ids.map(String) : [], marks);
    // By the measured shift, as the replicas say; told on the reader's clock by the held one, as its place is.
    return completeSecond(settled, { marks, alive }) - ahead;
  }

  /**
   * The replicas seen serving within rememberMs: after Redis lost its data (a restart without persistence) or
   * a replica's link was cut, the registry and the marks no longer name a replica whose buffered seconds are
   * still to come, and it is waited for with the fixed wait until it is back or forgotten.
   */
  private remember(nowMs: number, settled: number, live: string[], marks: ReadonlyMap<string, number>): string[] {
    for (const id of [...live, ...markedLately(settled, marks)]) this.seen.set(id, nowMs);
    for (const [id, at] of this.seen) if (nowMs - at > this.rememberMs) this.seen.delete(id);
    return [...this.seen.keys()];
  }

  /**
   * Seconds from the end of the newest second any replica has finished flushing to `nowMs` (on Redis's clock, as
   * the seconds are); null when none has flushed within the TTL. About 1.2–2.2 s when replicas flush on time.
   */
  async lagSeconds(nowMs: number): Promise<number | null> {
    const p = this.redis.pipeline().zscore(flushedMarkerKey(this.prefix), FLUSHED_MEMBER);
    const [[, score] = [null, null]] = await readAll(p, 'flush marker');
    if (score === null || score === undefined) return null;
    const newest = Number(score);
    if (!Number.isFinite(newest)) return null;
    // Subtract in milliseconds first: an epoch second divided down loses the fraction to rounding.
    return Math.max(0, (nowMs + this.shift.now() * 1000 - (newest + 1) * 1000) / 1000);
  }
}

/** Every reply of a read, or UnavailableError naming `what` when Redis did not answer all of it. */
export async function readAll(p: ReadPipeline, what: string): Promise<[Error | null, unknown][]> {
  let replies: [Error | null, unknown][] | null;
  try {
    replies = await p.exec();
  } catch (e) {
    throw new UnavailableError(`redis did not answer reading ${what}: ${errorMessage(e)}`);
  }
  // A partial answer would be a wrong sum; better none.
  const failed = replies?.find(([e]) => e !== null)?.[0];
  if (!replies || failed)
    throw new UnavailableError(`redis did not answer reading ${what}: ${failed?.message ?? 'pipeline aborted'}`);
  return replies;
}
