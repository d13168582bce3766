// The two SecondSources of the dashboard's series: this replica's windows, or the per-second hashes
// every replica adds into in Redis (one pipeline for all services, both pools), the same sums the
// judge reads through merged-source.ts.
import { systemClock, type Clock } from '../domain/clock.js';
import { UnavailableError, errorMessage } from '../domain/errors.js';
import { settledSecond } from '../domain/second.js';
import { FLUSH_GRACE_MS } from './flusher.js';
import { MERGE_SETTLE_MS, timeReplyMs, type ReadRedis } from './merged-source.js';
import type { MetricsRegistry } from './registry.js';
import { addHash, metricKey } from './second-hash.js';
import type { SecondSource, SecondTotals } from './series-book.js';
import { emptyTotals } from './totals.js';
import type { PoolWindow } from './window.js';

/** A second without traffic, shared by every quiet pool: nobody writes into a SecondTotals. */
const QUIET = Object.freeze(emptyTotals());

/**
 * `settleMs`: longer when workers ship their seconds to this process's windows; `lastComplete`: the newest
 * second they have all shipped.
 */
export function localSeconds(
  registry: Pick<MetricsRegistry, 'pool'>,
  settleMs = FLUSH_GRACE_MS,
  lastComplete?: (nowMs: number) => number,
): SecondSource {
  return {
    kind: 'local',
    settleMs,
    ...(lastComplete ? { lastComplete } : {}),
    seconds: async (services, sec) => {
      const out = new Map<string, SecondTotals>();
      const at = sec * 1000;
      // Most pools of many services are quiet in a given second: they share one empty record (read only)
      // rather than each summing its slots into a new one, which held the loop ~40 ms a second with a
      // thousand services.
      const of = (w: PoolWindow) => (w.holds(sec) ? w.totals(at, at) : QUIET);
      for (const s of services)
        out.set(s, { stable: of(registry.pool(s, 'stable')), canary: of(registry.pool(s, 'canary')) });
      return out;
    },
  };
}

/**
 * Replicas key their seconds on Redis's clock (flusher.ts): when this process's clock runs ahead of it, a second
 * is taken for settled that much later (measured by a TIME read along with each second), or it would be read
 * before every replica flushed it, and shown short for good.
 */
export function mergedSeconds(redis: ReadRedis, prefix: string, clock: Clock = systemClock): SecondSource {
  let behindMs = 0; // how far Redis's clock is behind this process's (0 when it is not)
  return {
    kind: 'merged',
    settleMs: MERGE_SETTLE_MS,
    lastComplete: (nowMs) => settledSecond(nowMs + behindMs, MERGE_SETTLE_MS),
    seconds: async (services, sec) => {
      const out = new Map<string, SecondTotals>();
      if (services.length === 0) return out;
      const p = redis.pipeline();
      for (const s of services)
        p.hgetall(metricKey(prefix, s, 'stable', sec)).hgetall(metricKey(prefix, s, 'canary', sec));
      p.time();
      let replies: [Error | null, unknown][] | null;
      try {
        replies = await p.exec();
      } catch (e) {
        throw new UnavailableError(`redis did not answer reading the dashboard series: ${errorMessage(e)}`);
      }
      if (!replies || replies.some(([e]) => e !== null))
        throw new UnavailableError('redis did not answer reading the dashboard series');
      const redisMs = timeReplyMs(replies.at(-1)?.[1]);
      if (redisMs !== null) behindMs = Math.min(0, redisMs - clock.now());
      services.forEach((s, i) => {
        const stable = emptyTotals();
        const canary = emptyTotals();
        addHash(stable, replies[2 * i]?.[1]);
        addHash(canary, replies[2 * i + 1]?.[1]);
        out.set(s, { stable, canary });
      });
      return out;
    },
  };
}
