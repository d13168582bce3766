// A worker's side of exact metrics: once a second, the seconds of every pool window (route groups
// included) that ended since the last report, its lifetime counters' and veer's own answers' growth.
// The primary adds them into its windows (PoolWindow.mergeSecond, addLifetime): the sums are exact
// because every process uses the same bucket edges. Read from the windows, never from the request path.
import { settledSecond } from '../domain/second.js';
import type { AnswerCounts } from '../dataplane/answers.js';
import type { MetricsRegistry } from '../metrics/registry.js';
import type { LifetimeTotals, PoolWindow, SecondRecord, WindowTotals } from '../metrics/window.js';
import type { MetricsReport } from './messages.js';

/** A worker reports second S-1 this long after S began (requests timed just before it are in). */
export const SHIP_AFTER_MS = 100;
/**
 * How long after a second ends the primary's windows hold every worker's share of it: its own
 * readers of finished seconds (the Redis flusher, the dashboard's series) wait this long.
 */
export const MERGED_AFTER_MS = 600;

type Report = Omit<MetricsReport, 'type'>;
type Plain = Omit<WindowTotals, 'latency' | 'routes'> & { latency: number[] };

const plain = ({ routes: _routes, ...t }: WindowTotals): Plain => ({ ...t, latency: Array.from(t.latency) });

function plainSecond(r: SecondRecord): Report['pools'][number]['seconds'][number] {
  const { routes } = r;
  const out = { ...plain(r), sec: r.sec };
  if (routes === undefined) return out;
  return { ...out, routes: Object.fromEntries(Object.entries(routes).map(([k, v]) => [k, plain(v)])) };
}

function lifetimeDelta(now: LifetimeTotals, before: LifetimeTotals | undefined): Report['pools'][number]['lifetime'] {
  const minus = (k: keyof Omit<LifetimeTotals, 'latency'>): number => now[k] - (before?.[k] ?? 0);
  return {
    requests: minus('requests'),
    errors: minus('errors'),
    connectErrors: minus('connectErrors'),
    timeouts: minus('timeouts'),
    broken: minus('broken'),
    clientErrors: minus('clientErrors'),
    latencySumMs: minus('latencySumMs'),
    drainCut: minus('drainCut'),
    latency: Array.from(now.latency, (n, i) => n - (before?.latency[i] ?? 0)),
  };
}

interface Sent {
  /** The newest second shipped. */
  sec: number;
  /** The lifetime totals shipped so far (undefined: none yet). */
  life: LifetimeTotals | undefined;
  /** The window's `writes` when it was last read. */
  writes: number;
  /** The report that last saw the window (a window no report sees any more is forgotten). */
  round: number;
  /** The window's `failed.noted` when it was last read. */
  failed: number;
}

export class MetricsShipper {
  private readonly sent = new Map<PoolWindow, Sent>();
  private round = 0;
  private readonly answersSent = new Map<string, number>();

  constructor(
    private readonly registry: MetricsRegistry,
    private readonly answers: AnswerCounts,
  ) {}

  /**
   * What is new since the last report: seconds ended by `nowMs` (all of them, the current one too, when
   * `last`). Sent every second even when empty: `through` tells the primary which seconds it has whole.
   */
  take(nowMs: number, last = false): Report {
    const upTo = last ? Math.floor(nowMs / 1000) : settledSecond(nowMs, SHIP_AFTER_MS);
    const out: Report = { through: upTo, pools: [], answers: [] };
    const round = ++this.round;
    for (const { service, pool, window } of this.registry.entries()) {
      const before = this.sent.get(window);
      const writes = window.writes;
      // Most windows of a front door with many services are idle in a given second: reading each one's
      // seconds and lifetime anyway held a worker's loop ~20 ms a second with a thousand services.
      const failedNoted = window.failed.noted;
      const unchanged = writes === (before?.writes ?? 0) && failedNoted === (before?.failed ?? 0);
      if (unchanged && window.newestSecond <= (before?.sec ?? -Infinity)) {
        if (before === undefined) this.sent.set(window, { sec: upTo, life: undefined, writes, round, failed: 0 });
        else [before.sec, before.round] = [Math.max(upTo, before.sec), round];
        continue;
      }
      const seconds = window.seconds((before?.sec ?? -Infinity) + 1, upTo).map(plainSecond);
      const life = window.lifetime();
      const lifetime = lifetimeDelta(life, before?.life);
      const failed = window.failed.since(before?.failed ?? 0);
      this.sent.set(window, {
        sec: Math.max(upTo, before?.sec ?? -Infinity),
        life,
        writes,
        round,
        failed: failedNoted,
      });
      if (seconds.length > 0 || lifetime.requests > 0 || lifetime.drainCut > 0 || failed.length > 0)
        out.pools.push({ service, pool, seconds, lifetime, ...(failed.length > 0 ? { failed } : {}) });
    }
    for (const [w, s] of this.sent) if (s.round !== round) this.sent.delete(w);
    for (const [code, n] of this.answers.entries()) {
      const grown = n - (this.answersSent.get(code) ?? 0);
      if (grown > 0) out.answers.push([code, grown]);
      this.answersSent.set(code, n);
    }
    return out;
  }
}

/** Calls `ship` SHIP_AFTER_MS after each second begins until the returned stop is called. */
export function everySecond(now: () => number, ship: () => void): () => void {
  let timer: NodeJS.Timeout | null = null;
  const tick = (): void => {
    const t = now();
    const next = (Math.floor((t - SHIP_AFTER_MS) / 1000) + 1) * 1000 + SHIP_AFTER_MS;
    timer = setTimeout(() => (ship(), timer !== null && tick()), Math.max(1, next - t));
    timer.unref();
  };
  tick();
  return () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
}
