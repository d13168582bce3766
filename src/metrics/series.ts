// One service's per-second history for the dashboard: a ring of `size` seconds holding, per pool, the
// figures of that second (requests, errors, p50, p99), plus the last few seconds' whole histograms so
// the overview can quote an exact p99 over them. Figures are computed once per settled second from the
// same totals the judge reads (merged over replicas when they share Redis), never per request.
//
// Memory per service: size × 2 pools × 4 Float64 (+ size seconds) ≈ 64 KiB at 900 s, plus
// RECENT_SECONDS × 2 histograms of BUCKET_COUNT Uint32 ≈ 20 KiB.
import type { PoolName } from '../domain/pool.js';
import { BUCKET_COUNT, quantileMs } from './histogram.js';
import type { WindowTotals } from './totals.js';

export const SERIES_SECONDS = 900;
/** The overview's window: long enough to smooth a quiet service, short enough to move visibly. */
export const RECENT_SECONDS = 10;

const POOLS: readonly PoolName[] = ['stable', 'canary'];
const FIELDS = 4;
const [REQ, ERR, P50, P99] = [0, 1, 2, 3];

export interface PointFigures {
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

/** Columns, oldest first; a second with no record (veer was not running, Redis did not answer) is null. */
export interface PoolColumns {
  requests: Array<number | null>;
  errors: Array<number | null>;
  p50Ms: Array<number | null>;
  p99Ms: Array<number | null>;
}

export interface SeriesColumns {
  /** Epoch seconds, one per second of the range. */
  t: number[];
  stable: PoolColumns;
  canary: PoolColumns;
}

export interface RecentFigures {
  seconds: number;
  rps: number;
  errorRate: number;
  p99Ms: number;
}

function total(latency: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < latency.length; i++) n += latency[i] as number;
  return n;
}

export function pointOf(t: Pick<WindowTotals, 'requests' | 'errors' | 'latency'>): PointFigures {
  const n = total(t.latency);
  return {
    requests: t.requests,
    errors: t.errors,
    p50Ms: n > 0 ? quantileMs(t.latency, n, 0.5) : 0,
    p99Ms: n > 0 ? quantileMs(t.latency, n, 0.99) : 0,
  };
}

export class SeriesRing {
  readonly size: number;
  private readonly secs: Float64Array;
  private readonly data: Float64Array;
  private readonly recentSecs = new Float64Array(RECENT_SECONDS).fill(NaN);
  /** RECENT_SECONDS × pools × BUCKET_COUNT, plus the request and error counts per (second, pool). */
  private readonly recentLatency = new Uint32Array(RECENT_SECONDS * 2 * BUCKET_COUNT);

  constructor(size = SERIES_SECONDS) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`series size must be a positive integer: ${size}`);
    this.size = size;
    this.secs = new Float64Array(size).fill(NaN);
    this.data = new Float64Array(size * 2 * FIELDS);
  }

  /** Records one settled second; both pools at once, so a second is never half there. */
  put(sec: number, totals: Record<PoolName, Pick<WindowTotals, 'requests' | 'errors' | 'latency'>>): void {
    const slot = sec % this.size;
    this.secs[slot] = sec;
    const r = sec % RECENT_SECONDS;
    this.recentSecs[r] = sec;
    POOLS.forEach((pool, p) => {
      const t = totals[pool];
      const f = pointOf(t);
      const base = (slot * 2 + p) * FIELDS;
      this.data[base + REQ] = f.requests;
      this.data[base + ERR] = f.errors;
      this.data[base + P50] = f.p50Ms;
      this.data[base + P99] = f.p99Ms;
      const into = (r * 2 + p) * BUCKET_COUNT;
      for (let i = 0; i < BUCKET_COUNT; i++) this.recentLatency[into + i] = (t.latency[i] as number) ?? 0;
    });
  }

  /** Oldest second still held, or null: charts start there rather than with empty minutes. */
  oldest(): number | null {
    let best = Infinity;
    for (const s of this.secs) if (s < best) best = s;
    return best === Infinity ? null : best;
  }

  /** The seconds in [fromSec, toSec], at most `size` of them (the newest). */
  columns(fromSec: number, toSec: number): SeriesColumns {
    const from = Math.max(fromSec, toSec - this.size + 1);
    const out: SeriesColumns = { t: [], stable: emptyColumns(), canary: emptyColumns() };
    for (let s = from; s <= toSec; s++) {
      out.t.push(s);
      const slot = s % this.size;
      const held = this.secs[slot] === s;
      POOLS.forEach((pool, p) => {
        const base = (slot * 2 + p) * FIELDS;
        const c = out[pool];
        c.requests.push(held ? (this.data[base + REQ] as number) : null);
        c.errors.push(held ? (this.data[base + ERR] as number) : null);
        c.p50Ms.push(held ? (this.data[base + P50] as number) : null);
        c.p99Ms.push(held ? (this.data[base + P99] as number) : null);
      });
    }
    return out;
  }

  /** The pool over the RECENT_SECONDS up to `toSec`: rates over the seconds held, p99 of their merged histogram. */
  recent(pool: PoolName, toSec: number): RecentFigures {
    const p = POOLS.indexOf(pool);
    const latency = new Uint32Array(BUCKET_COUNT);
    let requests = 0;
    let errors = 0;
    let seconds = 0;
    for (let s = toSec - RECENT_SECONDS + 1; s <= toSec; s++) {
      const r = s % RECENT_SECONDS;
      if (this.recentSecs[r] !== s || this.secs[s % this.size] !== s) continue;
      seconds++;
      const base = ((s % this.size) * 2 + p) * FIELDS;
      requests += this.data[base + REQ] as number;
      errors += this.data[base + ERR] as number;
      const from = (r * 2 + p) * BUCKET_COUNT;
      for (let i = 0; i < BUCKET_COUNT; i++)
        latency[i] = (latency[i] as number) + (this.recentLatency[from + i] as number);
    }
    const n = total(latency);
    return {
      seconds,
      rps: seconds > 0 ? requests / seconds : 0,
      errorRate: requests > 0 ? errors / requests : 0,
      p99Ms: n > 0 ? quantileMs(latency, n, 0.99) : 0,
    };
  }
}

function emptyColumns(): PoolColumns {
  return { requests: [], errors: [], p50Ms: [], p99Ms: [] };
}
