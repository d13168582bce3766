// Sliding window of one pool's traffic: a ring of one-second slots, each holding request/error
// counts and a latency histogram. Slots are keyed by epoch second, so a slot left over from an
// earlier lap of the ring is recognised as stale and never leaks into a newer window — after a quiet
// period the window is empty, not full of old traffic. Per-second records are exact integers on
// shared bucket edges, which is what makes merging several replicas' seconds exact.
//
// record*() runs on every proxied request: typed arrays, integer math, no allocation, and time comes
// only from the caller (an injected clock), never from Date.

import { assertNever } from '../domain/errors.js';
import type { FailureKind } from '../domain/upstream-failure.js';
import { BUCKET_COUNT, bucketIndex } from './histogram.js';
import { ClientErrors } from './client-errors.js';
import { FailedRequests } from './failed-requests.js';
import { EXCLUDED } from './route-groups.js';
import { ROUTE_WINDOW_SECONDS, RouteWindows } from './route-windows.js';
import { emptyTotals, type LifetimeTotals, type SecondRecord, type TotalsLike, type WindowTotals } from './totals.js';

export * from './totals.js';
type Count = (typeof COUNTS)[number];

/** `stale`: the slot already holds a newer second; `incompatible`: not a record on our bucket edges. */
export type MergeOutcome = 'merged' | 'stale' | 'incompatible';

export const DEFAULT_WINDOW_SECONDS = 900;

function bump(counts: Uint32Array | Float64Array, i: number, by: number): void {
  counts[i] = (counts[i] as number) + by;
}

/** The per-second counts of a slot, in this order in each slot's row of `counts`. */
const COUNTS = ['requests', 'errors', 'connectErrors', 'timeouts', 'broken', 'clientErrors'] as const;
const [REQ, ERR, CONNECT, TIMEOUT, BROKEN, CLIENT] = [0, 1, 2, 3, 4, 5];
const WIDTH = COUNTS.length;
const FAILURE_COUNT: Record<FailureKind, number> = { connect: CONNECT, timeout: TIMEOUT, broken: BROKEN };

/** Which judged windows a request goes to: a route group's code (RouteGroups.code), or one of these. */
export const POOL_ONLY = 0;
/** A request without a client identity (no sticky bucket). */
export const NO_CLIENT = -1;
export { EXCLUDED };

const NONE = new Uint32Array(0);

export class PoolWindow {
  readonly size: number;
  /** Epoch second held by each slot; NaN for a slot never written. */
  private readonly secs: Float64Array;
  /** size × WIDTH, slot-major (COUNTS); empty until a first second opens (see reset). */
  private counts = NONE;
  /** size × BUCKET_COUNT, slot-major. Allocated once, with `counts`, so the hot path never allocates. */
  private latency = NONE;
  private readonly life = new Float64Array(WIDTH);
  private lifeLatencySumMs = 0;
  private lifeDrainCut = 0;
  /** The newest second a slot was opened for (-Infinity before the first); written here only. */
  newestSecond = -Infinity;
  private readonly lifeLatency = new Float64Array(BUCKET_COUNT);
  /** Errors and 4xx by client, per second. */
  private readonly clients: ClientErrors;
  private readonly clients4xx: ClientErrors;
  /** The pool's last failed requests, by id. */
  readonly failed = new FailedRequests();
  /** The pool's traffic per route group, while the data plane records them (a canary is routed). */
  readonly routes: RouteWindows;

  constructor(opts: { seconds?: number } = {}) {
    const size = opts.seconds ?? DEFAULT_WINDOW_SECONDS;
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`window seconds must be a positive integer, got ${size}`);
    this.size = size;
    this.secs = new Float64Array(size).fill(NaN);
    this.clients = new ClientErrors(size);
    this.clients4xx = new ClientErrors(size);
    this.routes = new RouteWindows(() => new PoolWindow({ seconds: Math.min(size, ROUTE_WINDOW_SECONDS) }));
  }

  /**
   * The upstream answered with `status`: >= 500 counts as an error, 4xx as a client error. `group`:
   * POOL_ONLY, EXCLUDED (lifetime counters only: proxied, never judged) or a route group's code.
   */
  record(nowMs: number, status: number, latencyMs: number, group = POOL_ONLY, client = NO_CLIENT): void {
    const slot = this.count(nowMs, latencyMs, group);
    if (status >= 500) this.error(slot, client);
    else if (status >= 400) this.error(slot, client, CLIENT);
    if (group > 0) this.routes.coded(group)?.record(nowMs, status, latencyMs);
  }

  /** The exchange failed without an upstream status (502 or 504, or a cut answer): a request AND an error. */
  recordFailure(nowMs: number, kind: FailureKind, latencyMs: number, group = POOL_ONLY, client = NO_CLIENT): void {
    const slot = this.count(nowMs, latencyMs, group);
    this.error(slot, client);
    this.bump(slot, FAILURE_COUNT[kind] ?? assertNever(kind as never, 'failure kind'));
    if (group > 0) this.routes.coded(group)?.recordFailure(nowMs, kind, latencyMs);
  }

  /** A request veer cut at the end of a drain: not a request of the judged window, nor an error. */
  recordDrainCut(): void {
    this.lifeDrainCut++;
  }

  /**
   * Sum over every second that contains a point of [fromMs, toMs] and is still held by the ring
   * (at most the last `size` seconds up to toMs), with the route groups' sums when there are any.
   */
  totals(fromMs: number, toMs: number): WindowTotals {
    const out = emptyTotals();
    const to = Math.floor(toMs / 1000);
    for (let s = Math.max(Math.floor(fromMs / 1000), to - this.size + 1); s <= to; s++) {
      const slot = this.slotOf(s);
      if (this.secs[slot] === s) this.addSlotInto(out, slot);
    }
    const routes = this.routes.totals(fromMs, toMs);
    return routes === undefined ? out : { ...out, routes };
  }

  /** Moves with every request and drain cut recorded here (merges aside): unchanged, nothing new was. */
  get writes(): number {
    return (this.life[REQ] as number) + this.lifeDrainCut;
  }

  /** Whether second `sec` (epoch) had anything written (a quiet second has no slot). */
  holds(sec: number): boolean {
    return this.secs[this.slotOf(sec)] === sec;
  }

  /** Lifetime cumulative totals (for Prometheus counters/histograms), never reset by the ring. */
  lifetime(): LifetimeTotals {
    const l = this.life;
    return {
      requests: l[REQ] as number,
      errors: l[ERR] as number,
      connectErrors: l[CONNECT] as number,
      timeouts: l[TIMEOUT] as number,
      broken: l[BROKEN] as number,
      clientErrors: l[CLIENT] as number,
      latency: this.lifeLatency.slice(),
      latencySumMs: this.lifeLatencySumMs,
      drainCut: this.lifeDrainCut,
    };
  }

  /** Another process's lifetime counts since its last report (a worker's): added exactly, like its own. */
  addLifetime(d: Omit<LifetimeTotals, 'latency'> & { latency: ArrayLike<number> }): void {
    for (let k = 0; k < WIDTH; k++) bump(this.life, k, d[COUNTS[k] as Count]);
    for (let i = 0; i < BUCKET_COUNT; i++) bump(this.lifeLatency, i, d.latency[i] ?? 0);
    this.lifeLatencySumMs += d.latencySumMs;
    this.lifeDrainCut += d.drainCut;
  }

  /** Per-second records in [fromSec, toSec] (epoch seconds) still held by the ring, oldest first. */
  seconds(fromSec: number, toSec: number): SecondRecord[] {
    const out: SecondRecord[] = [];
    const to = Math.floor(toSec);
    for (let s = Math.max(Math.ceil(fromSec), to - this.size + 1); s <= to; s++) {
      const slot = this.slotOf(s);
      if (this.secs[slot] !== s) continue;
      const rec: SecondRecord = { sec: s, ...emptyTotals() };
      this.addSlotInto(rec, slot);
      const routes = this.routes.totals(s * 1000, s * 1000);
      out.push(routes === undefined ? rec : { ...rec, routes });
    }
    return out;
  }

  /**
   * Add another replica's per-second record (exact merge). Merged counts feed totals()/seconds() but
   * not lifetime(), which stays this process's own traffic so Prometheus can sum replicas. Merge
   * into a window whose seconds() you do not ship again, or replicas echo each other's counts.
   */
  mergeSecond(rec: { sec: number } & TotalsLike): MergeOutcome {
    if (!Number.isInteger(rec.sec) || rec.latency.length !== BUCKET_COUNT) return 'incompatible';
    const slot = this.slotOf(rec.sec);
    const held = this.secs[slot] as number;
    // A late record must not wipe a newer second that has already taken its slot.
    if (held > rec.sec) return 'stale';
    if (held !== rec.sec) this.reset(slot, rec.sec);
    for (let k = 0; k < WIDTH; k++) this.bump(slot, k, rec[COUNTS[k] as Count] ?? 0, false);
    const base = slot * BUCKET_COUNT;
    for (let i = 0; i < BUCKET_COUNT; i++) bump(this.latency, base + i, rec.latency[i] as number);
    for (const [key, n] of Object.entries(rec.clients ?? {})) this.clients.merge(slot, Number(key), n);
    for (const [key, n] of Object.entries(rec.clients4xx ?? {})) this.clients4xx.merge(slot, Number(key), n);
    for (const [name, r] of Object.entries(rec.routes ?? {}))
      this.routes.named(name)?.mergeSecond({ ...r, sec: rec.sec });
    return 'merged';
  }

  private slotOf(sec: number): number {
    const slot = sec % this.size;
    return slot < 0 ? slot + this.size : slot;
  }

  private reset(slot: number, sec: number): void {
    // The slots' counts (~400 KiB a window) come with its first second: up front, a thousand services' idle
    // windows took GBs of address space, and V8 collected its old space every ~50 ms while they were made.
    if (this.latency === NONE) {
      this.counts = new Uint32Array(this.size * WIDTH);
      this.latency = new Uint32Array(this.size * BUCKET_COUNT);
    }
    this.secs[slot] = sec;
    if (sec > this.newestSecond) this.newestSecond = sec;
    this.counts.fill(0, slot * WIDTH, (slot + 1) * WIDTH);
    this.clients.reset(slot);
    this.clients4xx.reset(slot);
    this.latency.fill(0, slot * BUCKET_COUNT, (slot + 1) * BUCKET_COUNT);
  }

  /**
   * An error (or a 4xx: CLIENT), attributed to its client (a sticky bucket) when it has one: the judge's
   * one-client guard covers both. A 4xx costs what an error does: a few compares in the second's row.
   */
  private error(slot: number, client: number, k = ERR): void {
    this.bump(slot, k);
    if (client >= 0 && slot >= 0) (k === ERR ? this.clients : this.clients4xx).note(slot, client);
  }

  /** slot -1: an excluded request, in the lifetime counters only. */
  private bump(slot: number, k: number, by = 1, life = true): void {
    if (slot >= 0) bump(this.counts, slot * WIDTH + k, by);
    if (life) bump(this.life, k, by);
  }

  /** Counts one request in its second's slot (emptied first if it held another second); returns the slot. */
  private count(nowMs: number, latencyMs: number, group: number): number {
    const bucket = bucketIndex(latencyMs);
    bump(this.lifeLatency, bucket, 1);
    if (latencyMs > 0 && latencyMs < Infinity) this.lifeLatencySumMs += latencyMs;
    // An excluded request is proxied, never judged: the lifetime counters are its only trace.
    if (group === EXCLUDED) {
      this.bump(-1, REQ);
      return -1;
    }
    const sec = Math.floor(nowMs / 1000);
    const slot = this.slotOf(sec);
    if (this.secs[slot] !== sec) this.reset(slot, sec);
    this.bump(slot, REQ);
    bump(this.latency, slot * BUCKET_COUNT + bucket, 1);
    return slot;
  }

  private addSlotInto(out: WindowTotals, slot: number): void {
    for (let k = 0; k < WIDTH; k++) out[COUNTS[k] as Count] += this.counts[slot * WIDTH + k] as number;
    if (this.clients.has(slot)) this.clients.addInto((out.clients ??= {}), slot);
    if (this.clients4xx.has(slot)) this.clients4xx.addInto((out.clients4xx ??= {}), slot);
    const base = slot * BUCKET_COUNT;
    for (let i = 0; i < BUCKET_COUNT; i++)
      out.latency[i] = (out.latency[i] as number) + (this.latency[base + i] as number);
  }
}
