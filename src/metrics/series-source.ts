// The two SecondSources of the dashboard's series: this replica's windows, or the per-second hashes
// every replica adds into in Redis (one pipeline for all services, both pools), the same sums the
// judge reads through merged-source.ts.
import { settledSecond } from '../domain/second.js';
import { FLUSH_GRACE_MS } from './flusher.js';
import { MERGE_SETTLE_MS, readAll, timeReplyMs, type ReadRedis } from './merged-source.js';
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
 * The replicas' sums on Redis's clock, which they key their seconds on (flusher.ts): every replica's dashboard shows
 * the same seconds, whatever its own clock says. A second is settled by Redis's clock too (TIME, read each tick):
 * a reader whose clock ran ahead read seconds nobody had flushed yet, and showed them empty for good; one behind
 * showed every second as late as its clock was.
 */
export function mergedSeconds(redis: ReadRedis, prefix: string): SecondSource {
  return {
    kind: 'merged',
    settleMs: MERGE_SETTLE_MS,
    lastComplete: async (nowMs) => {
      const [[, time] = [null, null]] = await readAll(redis.pipeline().time(), "the dashboard series' clock");
      return settledSecond(timeReplyMs(time) ?? nowMs, MERGE_SETTLE_MS);
    },
    seconds: async (services, sec) => {
      const out = new Map<string, SecondTotals>();
      if (services.length === 0) return out;
      const p = redis.pipeline();
      for (const s of services)
        p.hgetall(metricKey(prefix, s, 'stable', sec)).hgetall(metricKey(prefix, s, 'canary', sec));
      const replies = await readAll(p, 'the dashboard series');
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
