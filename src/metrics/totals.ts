// What a window sums up over a range of seconds: the shapes every reader shares (the judge, the
// Redis hash, Prometheus), apart from the ring that produces them.
import { BUCKET_COUNT } from './histogram.js';

export interface WindowTotals {
  requests: number;
  /** All failed requests: upstream status >= 500 plus the failures veer saw itself (the three below). */
  errors: number;
  connectErrors: number;
  timeouts: number;
  /** Answers that were invalid or broke off, e.g. in the middle of the body. */
  broken: number;
  /** Upstream answers 4xx: not errors, judged against stable only when the policy asks (judge4xx). */
  clientErrors: number;
  /** BUCKET_COUNT counts on the shared edges of histogram.ts. */
  latency: Uint32Array;
  /** The same per route group (by name), when the data plane recorded groups in the range. */
  routes?: Record<string, WindowTotals>;
  /** Errors attributed to clients (sticky buckets), by client key; absent when none were. */
  clients?: Record<string, number>;
  /** The same for 4xx (`clientErrors`). */
  clients4xx?: Record<string, number>;
}

/** Anything totals-shaped, e.g. a record that arrived as JSON with `latency` as a plain array. */
export type TotalsLike = Omit<WindowTotals, 'latency' | 'routes' | 'clientErrors'> & {
  latency: ArrayLike<number>;
  /** Absent in records of older versions. */
  clientErrors?: number;
  routes?: Record<string, TotalsLike>;
  clients?: Record<string, number>;
  /** Absent in records of older versions. */
  clients4xx?: Record<string, number>;
};

export type SecondRecord = { sec: number } & WindowTotals;

/** Cumulative since the window was created. Float64 so a busy bucket cannot wrap at 2^32. */
export interface LifetimeTotals extends Omit<WindowTotals, 'latency' | 'routes' | 'clients' | 'clients4xx'> {
  latency: Float64Array;
  latencySumMs: number;
  /** Requests cut by veer's own drain bound: counted apart, never judged as the pool's errors. */
  drainCut: number;
}

export function emptyTotals(): WindowTotals {
  return {
    requests: 0,
    errors: 0,
    connectErrors: 0,
    timeouts: 0,
    broken: 0,
    clientErrors: 0,
    latency: new Uint32Array(BUCKET_COUNT),
  };
}

export function addTotals(into: WindowTotals, from: TotalsLike): void {
  into.requests += from.requests;
  into.errors += from.errors;
  into.connectErrors += from.connectErrors;
  into.timeouts += from.timeouts;
  into.broken += from.broken;
  into.clientErrors += from.clientErrors ?? 0;
  const n = Math.min(BUCKET_COUNT, from.latency.length);
  for (let i = 0; i < n; i++) into.latency[i] = (into.latency[i] as number) + (from.latency[i] as number);
}
