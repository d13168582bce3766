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

export interface WindowTotals {
  requests: number;
  /** All failed requests: upstream status >= 500 plus the failures veer saw itself (the three below). */
  errors: number;
  connectErrors: number;
  timeouts: number;
  /** Answers that were invalid or broke off, e.g. in the middle of the body. */
  broken: number;
  /** BUCKET_COUNT counts on the shared edges of histogram.ts. */
  latency: Uint32Array;
}

/** Anything totals-shaped, e.g. a record that arrived as JSON with `latency` as a plain array. */
export type TotalsLike = Omit<WindowTotals, 'latency'> & { latency: ArrayLike<number> };

export type SecondRecord = { sec: number } & WindowTotals;

/** Cumulative since the window was created. Float64 so a busy bucket cannot wrap at 2^32. */
export interface LifetimeTotals extends Omit<WindowTotals, 'latency'> {
  latency: Float64Array;
  latencySumMs: number;
  /** Requests cut by veer's own drain bound: counted apart, never judged as the pool's errors. */
  drainCut: number;
}

/** `stale`: the slot already holds a newer second; `incompatible`: not a record on our bucket edges. */
export type MergeOutcome = 'merged' | 'stale' | 'incompatible';

export const DEFAULT_WINDOW_SECONDS = 900;

function bump(counts: Uint32Array | Float64Array, i: number, by: number): void {
  counts[i] = (counts[i] as number) + by;
}

export function emptyTotals(): WindowTotals {
  return {
    requests: 0,
    errors: 0,
    connectErrors: 0,
    timeouts: 0,
    broken: 0,
    latency: new Uint32Array(BUCKET_COUNT),
  };
}

export function addTotals(into: WindowTotals, from: TotalsLike): void {
  into.requests += from.requests;
  into.errors += from.errors;
  into.connectErrors += from.connectErrors;
  into.timeouts += from.timeouts;
  into.broken += from.broken;
  const n = Math.min(BUCKET_COUNT, from.latency.length);
  for (let i = 0; i < n; i++) into.latency[i] = (into.latency[i] as number) + (from.latency[i] as number);
}

export class PoolWindow {
  readonly size: number;
  /** Epoch second held by each slot; NaN for a slot never written. */
  private readonly secs: Float64Array;
  private readonly requests: Uint32Array;
  private readonly errors: Uint32Array;
  private readonly connectErrors: Uint32Array;
  private readonly timeouts: Uint32Array;
  private readonly broken: Uint32Array;
  /** size × BUCKET_COUNT, slot-major. Allocated once so the hot path never allocates. */
  private readonly latency: Uint32Array;
  private lifeRequests = 0;
  private lifeErrors = 0;
  private lifeConnectErrors = 0;
  private lifeTimeouts = 0;
  private lifeBroken = 0;
  private lifeLatencySumMs = 0;
  private lifeDrainCut = 0;
  private readonly lifeLatency = new Float64Array(BUCKET_COUNT);

  constructor(opts: { seconds?: number } = {}) {
    const size = opts.seconds ?? DEFAULT_WINDOW_SECONDS;
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`window seconds must be a positive integer, got ${size}`);
    this.size = size;
    this.secs = new Float64Array(size).fill(NaN);
    this.requests = new Uint32Array(size);
    this.errors = new Uint32Array(size);
    this.connectErrors = new Uint32Array(size);
    this.timeouts = new Uint32Array(size);
    this.broken = new Uint32Array(size);
    this.latency = new Uint32Array(size * BUCKET_COUNT);
  }

  /** The upstream answered with `status`; >= 500 counts as an error. */
  record(nowMs: number, status: number, latencyMs: number): void {
    const slot = this.claim(Math.floor(nowMs / 1000));
    this.count(slot, latencyMs);
    if (status >= 500) {
      bump(this.errors, slot, 1);
      this.lifeErrors++;
    }
  }

  /** The exchange failed without an upstream status (502 or 504, or a cut answer): a request AND an error. */
  recordFailure(nowMs: number, kind: FailureKind, latencyMs: number): void {
    const slot = this.claim(Math.floor(nowMs / 1000));
    this.count(slot, latencyMs);
    bump(this.errors, slot, 1);
    this.lifeErrors++;
    switch (kind) {
      case 'connect':
        bump(this.connectErrors, slot, 1);
        this.lifeConnectErrors++;
        break;
      case 'timeout':
        bump(this.timeouts, slot, 1);
        this.lifeTimeouts++;
        break;
      case 'broken':
        bump(this.broken, slot, 1);
        this.lifeBroken++;
        break;
      default:
        assertNever(kind, 'failure kind');
    }
  }

  /** A request veer cut at the end of a drain: not a request of the judged window, nor an error. */
  recordDrainCut(): void {
    this.lifeDrainCut++;
  }

  /**
   * Sum over every second that contains a point of [fromMs, toMs] and is still held by the ring
   * (at most the last `size` seconds up to toMs).
   */
  totals(fromMs: number, toMs: number): WindowTotals {
    const out = emptyTotals();
    const to = Math.floor(toMs / 1000);
    for (let s = Math.max(Math.floor(fromMs / 1000), to - this.size + 1); s <= to; s++) {
      const slot = this.slotOf(s);
      if (this.secs[slot] === s) this.addSlotInto(out, slot);
    }
    return out;
  }

  /** Lifetime cumulative totals (for Prometheus counters/histograms), never reset by the ring. */
  lifetime(): LifetimeTotals {
    return {
      requests: this.lifeRequests,
      errors: this.lifeErrors,
      connectErrors: this.lifeConnectErrors,
      timeouts: this.lifeTimeouts,
      broken: this.lifeBroken,
      latency: this.lifeLatency.slice(),
      latencySumMs: this.lifeLatencySumMs,
      drainCut: this.lifeDrainCut,
    };
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
      out.push(rec);
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
    bump(this.requests, slot, rec.requests);
    bump(this.errors, slot, rec.errors);
    bump(this.connectErrors, slot, rec.connectErrors);
    bump(this.timeouts, slot, rec.timeouts);
    bump(this.broken, slot, rec.broken);
    const base = slot * BUCKET_COUNT;
    for (let i = 0; i < BUCKET_COUNT; i++) bump(this.latency, base + i, rec.latency[i] as number);
    return 'merged';
  }

  private slotOf(sec: number): number {
    const slot = sec % this.size;
    return slot < 0 ? slot + this.size : slot;
  }

  /** The slot for `sec`, emptied first if it still holds another second (now always wins). */
  private claim(sec: number): number {
    const slot = this.slotOf(sec);
    if (this.secs[slot] !== sec) this.reset(slot, sec);
    return slot;
  }

  private reset(slot: number, sec: number): void {
    this.secs[slot] = sec;
    this.requests[slot] = 0;
    this.errors[slot] = 0;
    this.connectErrors[slot] = 0;
    this.timeouts[slot] = 0;
    this.broken[slot] = 0;
    this.latency.fill(0, slot * BUCKET_COUNT, (slot + 1) * BUCKET_COUNT);
  }

  private count(slot: number, latencyMs: number): void {
    const bucket = bucketIndex(latencyMs);
    bump(this.requests, slot, 1);
    bump(this.latency, slot * BUCKET_COUNT + bucket, 1);
    this.lifeRequests++;
    bump(this.lifeLatency, bucket, 1);
    if (latencyMs > 0 && latencyMs < Infinity) this.lifeLatencySumMs += latencyMs;
  }

  private addSlotInto(out: WindowTotals, slot: number): void {
    out.requests += this.requests[slot] as number;
    out.errors += this.errors[slot] as number;
    out.connectErrors += this.connectErrors[slot] as number;
    out.timeouts += this.timeouts[slot] as number;
    out.broken += this.broken[slot] as number;
    const base = slot * BUCKET_COUNT;
    for (let i = 0; i < BUCKET_COUNT; i++)
      out.latency[i] = (out.latency[i] as number) + (this.latency[base + i] as number);
  }
}
