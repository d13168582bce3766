// A bounded load generator for integration tests: `rps` requests per second over keep-alive
// connections, for at most `maxMs` or until a predicate holds, counting what a client would see
// (status ≥ 500 or a network error is a failure) and which upstream answered. Rate is kept by a
// catch-up ticker (timers cannot fire every few ms reliably), and in-flight requests are capped so
// a stalled proxy cannot make the generator pile up sockets without bound.
import { Pool } from 'undici';

export interface TrafficOptions {
  /** Origin, e.g. "http://127.0.0.1:8080". */
  url: string;
  path?: string;
  rps: number;
  /** Hard bound on the run, whatever the predicate says. */
  maxMs: number;
  /** Stop as soon as this holds (polled every `pollMs`; a throw rejects `done`). */
  until?: () => boolean | Promise<boolean>;
  pollMs?: number;
  headers?: Record<string, string>;
  /** Requests in flight at most; further due requests are counted as `skipped`. */
  maxInFlight?: number;
  /** Per request (headers and body). */
  timeoutMs?: number;
  /** Response header naming the upstream (test upstreams send `x-upstream`). */
  upstreamHeader?: string;
}

export interface TrafficFailure {
  /** ms since the traffic started, when the failure was seen. */
  at: number;
  /** ms since the traffic started, when the request was sent. */
  sentAt: number;
  status: number;
  upstream: string | null;
  error: string | null;
}

export interface TrafficReport {
  sent: number;
  completed: number;
  ok: number;
  /** Client-visible failures: status ≥ 500 plus network errors. */
  failures: number;
  networkErrors: number;
  /** Due requests not sent because `maxInFlight` were already in flight. */
  skipped: number;
  byStatus: Record<string, number>;
  byUpstream: Record<string, number>;
  /** The first MAX_FAILURE_LOG failures. */
  failureLog: TrafficFailure[];
  /** The first MAX_FAILURE_LOG answers that took SLOW_MS or longer: when (ms since start) and how long. */
  slowLog: Array<{ at: number; ms: number }>;
  /**
   * This process's own stalls (its ticker late by STALL_MS or more): when (ms since start) and how long.
   * A client that stalls longer than a request's timeout fails that request whatever the server did.
   */
  stalls: Array<{ at: number; ms: number }>;
  elapsedMs: number;
  stoppedBy: 'predicate' | 'time' | 'stop' | 'running';
}

export interface Traffic {
  /** Settles once traffic has stopped and every in-flight request has ended. */
  readonly done: Promise<TrafficReport>;
  /** A copy of the counters so far (diff two snapshots to count a stretch of time). */
  snapshot(): TrafficReport;
  /** Stops early (idempotent); resolves like `done`. */
  stop(): Promise<TrafficReport>;
}

const TICK_MS = 10;
const MAX_FAILURE_LOG = 1000;
/** Answers at least this slow are logged (e.g. requests that waited for a target). */
const SLOW_MS = 250;
/** Ticker lateness logged as a stall of this process. */
const STALL_MS = 250;

function emptyReport(): TrafficReport {
  return {
    sent: 0,
    completed: 0,
    ok: 0,
    failures: 0,
    networkErrors: 0,
    skipped: 0,
    byStatus: {},
    byUpstream: {},
    failureLog: [],
    slowLog: [],
    stalls: [],
    elapsedMs: 0,
    stoppedBy: 'running',
  };
}

function copy(r: TrafficReport): TrafficReport {
  return {
    ...r,
    byStatus: { ...r.byStatus },
    byUpstream: { ...r.byUpstream },
    failureLog: [...r.failureLog],
    slowLog: [...r.slowLog],
    stalls: [...r.stalls],
  };
}

const bump = (m: Record<string, number>, k: string): void => {
  m[k] = (m[k] ?? 0) + 1;
};

export function startTraffic(opts: TrafficOptions): Traffic {
  if (!(opts.rps > 0) || !(opts.maxMs > 0)) throw new Error('traffic needs rps > 0 and maxMs > 0');
  const maxInFlight = opts.maxInFlight ?? 64;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const upstreamHeader = (opts.upstreamHeader ?? 'x-upstream').toLowerCase();
  const pool = new Pool(opts.url, { connections: maxInFlight, pipelining: 1, keepAliveTimeout: 4_000 });
  const report = emptyReport();
  const pending = new Set<Promise<void>>();
  const started = Date.now();
  let inFlight = 0;
  let checking = false;
  let stopped = false;
  let resolveDone!: (r: TrafficReport) => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<TrafficReport>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  // A rejected `done` nobody awaited must not become an unhandled rejection of the worker.
  done.catch(() => undefined);

  const one = async (): Promise<void> => {
    const sentAt = Date.now();
    const fail = (status: number, upstream: string | null, error: string | null): void => {
      report.failures++;
      if (report.failureLog.length < MAX_FAILURE_LOG)
        report.failureLog.push({ at: Date.now() - started, sentAt: sentAt - started, status, upstream, error });
    };
    try {
      const r = await pool.request({
        path: opts.path ?? '/',
        method: 'GET',
        headers: opts.headers ?? {},
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = await r.body.text();
      const h = r.headers[upstreamHeader];
      const upstream = (Array.isArray(h) ? h[0] : h) ?? null;
      report.completed++;
      const took = Date.now() - sentAt;
      if (took >= SLOW_MS && report.slowLog.length < MAX_FAILURE_LOG)
        report.slowLog.push({ at: Date.now() - started, ms: took });
      bump(report.byStatus, String(r.statusCode));
      if (upstream !== null) bump(report.byUpstream, upstream);
      if (r.statusCode >= 500) fail(r.statusCode, upstream, text.slice(0, 200));
      else report.ok++;
    } catch (e) {
      report.completed++;
      report.networkErrors++;
      fail(
        0,
        null,
        e instanceof Error ? `${(e as Error & { code?: string }).code ?? ''} ${e.message}`.trim() : String(e),
      );
    }
  };

  const send = (): void => {
    report.sent++;
    inFlight++;
    const p = one().finally(() => {
      inFlight--;
      pending.delete(p);
    });
    pending.add(p);
  };

  const finish = async (why: TrafficReport['stoppedBy'], error?: unknown): Promise<void> => {
    if (stopped) return;
    stopped = true;
    clearInterval(ticker);
    clearInterval(poller);
    clearTimeout(deadline);
    report.stoppedBy = why;
    // Every request is bounded by timeoutMs, so this wait is bounded too.
    await Promise.allSettled([...pending]);
    report.elapsedMs = Date.now() - started;
    await pool.close().catch(() => undefined);
    if (error !== undefined) rejectDone(error);
    else resolveDone(copy(report));
  };

  let lastTick = started;
  const ticker = setInterval(() => {
    if (stopped) return;
    const now = Date.now();
    const late = now - lastTick - TICK_MS;
    lastTick = now;
    if (late >= STALL_MS && report.stalls.length < MAX_FAILURE_LOG)
      report.stalls.push({ at: now - started - late, ms: late });
    // A loaded process runs this tick late and the deadline timer later still: the catch-up counts only
    // the time up to maxMs, so a late tick never sends more than maxMs of traffic at the rate.
    const elapsed = Math.min(Date.now() - started, opts.maxMs);
    const due = Math.floor((elapsed * opts.rps) / 1000);
    while (report.sent + report.skipped < due) {
      if (inFlight >= maxInFlight) report.skipped++;
      else send();
    }
    if (elapsed >= opts.maxMs) void finish('time');
  }, TICK_MS);

  const poller = setInterval(() => {
    if (stopped || checking || !opts.until) return;
    checking = true;
    Promise.resolve()
      .then(() => opts.until?.())
      .then(
        (hit) => {
          if (hit) void finish('predicate');
        },
        (e: unknown) => void finish('stop', e),
      )
      .finally(() => {
        checking = false;
      });
  }, opts.pollMs ?? 50);

  const deadline = setTimeout(() => void finish('time'), opts.maxMs);

  return {
    done,
    snapshot: () => ({ ...copy(report), elapsedMs: Date.now() - started }),
    stop: async () => {
      await finish('stop');
      return done;
    },
  };
}

/** Counters of `later` minus those of `earlier` (for a stretch of a run). */
export function between(earlier: TrafficReport, later: TrafficReport): TrafficReport {
  const diff = (a: Record<string, number>, b: Record<string, number>): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(b)) if (v - (a[k] ?? 0) !== 0) out[k] = v - (a[k] ?? 0);
    return out;
  };
  return {
    sent: later.sent - earlier.sent,
    completed: later.completed - earlier.completed,
    ok: later.ok - earlier.ok,
    failures: later.failures - earlier.failures,
    networkErrors: later.networkErrors - earlier.networkErrors,
    skipped: later.skipped - earlier.skipped,
    byStatus: diff(earlier.byStatus, later.byStatus),
    byUpstream: diff(earlier.byUpstream, later.byUpstream),
    failureLog: later.failureLog.slice(earlier.failureLog.length),
    slowLog: later.slowLog.slice(earlier.slowLog.length),
    stalls: later.stalls.slice(earlier.stalls.length),
    elapsedMs: later.elapsedMs - earlier.elapsedMs,
    stoppedBy: later.stoppedBy,
  };
}

/**
 * What a failed assertion on a report should say: the first failures (when sent, when seen), the slow
 * answers, and this process's own stalls, which tell a server that held requests from a client that
 * could not read their answers in time.
 */
export function trouble(r: TrafficReport, n = 3): string {
  // The stalls first: a summary that keeps only a message's first few hundred characters keeps them.
  const stalls = r.stalls.length === 0 ? 'none' : JSON.stringify(r.stalls.slice(0, n));
  const failures = JSON.stringify(r.failureLog.slice(0, n));
  return `this process stalled: ${stalls}; failures ${failures}; slow ${JSON.stringify(r.slowLog.slice(0, n))}`;
}
