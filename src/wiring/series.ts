// The dashboard's per-second history: every replica keeps its own book, filled from the replicas'
// sum in Redis when they share it (the figures the judge sees), else from this process's windows.
import type { SeriesView } from '../api/ports.js';
import { SeriesBook, type SecondSource } from '../metrics/series-book.js';
import { MERGED_AFTER_MS } from '../workers/metrics-ship.js';
import { localSeconds, mergedSeconds } from '../metrics/series-source.js';
import type { Base } from './base.js';
import type { Running } from './admin.js';

export function seriesView(b: Base, r: Pick<Running, 'store' | 'plane' | 'metrics' | 'workers'>): SeriesView {
  // With workers, a second is whole in this process's windows once every worker has shipped it.
  const shipped = r.workers?.shipped;
  const local = (): SecondSource =>
    shipped ? localSeconds(r.metrics, MERGED_AFTER_MS, (now) => shipped.lastComplete(now)) : localSeconds(r.metrics);
  const source = r.store ? mergedSeconds(r.store.raw(), b.config.state.prefix) : local();
  const book = new SeriesBook({ source, clock: b.clock, log: b.log, services: () => r.plane.serviceNames() });
  book.start();
  b.closers.add('dashboard series', async () => book.stop());
  return {
    source: source.kind,
    settleMs: source.settleMs,
    newest: () => book.newest,
    columns: (service, seconds) => {
      const ring = book.ring(service);
      const newest = book.newest;
      const oldest = ring?.oldest() ?? null;
      if (!ring || newest === null || oldest === null) return null;
      return ring.columns(Math.max(oldest, newest - seconds + 1), newest);
    },
    recent: (service) => {
      const ring = book.ring(service);
      const newest = book.newest;
      if (!ring || newest === null) return null;
      return { stable: ring.recent('stable', newest), canary: ring.recent('canary', newest) };
    },
    onSecond: (listener) => book.onSecond(listener),
  };
}
