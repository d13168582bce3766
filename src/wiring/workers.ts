// `workers: N` in the primary: the pool of data-plane processes, the route plane the projection drives
// (drains reach every worker), and how they start and close with the rest of veer.
import type { AddressInfo } from 'node:net';
import type { DataPlane } from '../dataplane/dataplane.js';
import type { MetricsRegistry } from '../metrics/registry.js';
import type { RoutePlane } from '../rollout/projection.js';
import { drainAll } from '../workers/fanout.js';
import { WorkerPool } from '../workers/primary.js';
import type { Base } from './base.js';

export function buildWorkers(b: Base, plane: DataPlane, metrics: MetricsRegistry): WorkerPool | null {
  if (b.workers <= 1) return null;
  const { config, clock, log } = b;
  return new WorkerPool({ count: b.workers, config, plane, metrics, clock, log });
}

/** The primary's data plane routes nothing itself: a drain is every worker's (each bounded by `timeoutMs`). */
export function clusterPlane(plane: DataPlane, pool: WorkerPool): RoutePlane {
  return {
    update: (name, patch) => plane.update(name, patch),
    batch: (fn) => plane.batch(fn),
    maintenance: plane.maintenance,
    drain: (ids, timeoutMs) => drainAll(pool, ids, timeoutMs),
  };
}

/**
 * Forks the workers (they listen on `listen` and `tls.listen`), registering their closer first so a
 * failed start ends the ones already running. Closing asks each to close within the shutdown grace.
 */
export async function startWorkers(
  b: Base,
  pool: WorkerPool,
  stopped: () => void,
): Promise<{ data: AddressInfo; tls: AddressInfo | null }> {
  const grace = b.config.proxy.timeouts.shutdown;
  b.closers.add('workers', async () => {
    stopped();
    await pool.close(grace);
    b.log.log('info', 'workers closed', { restarts: pool.restarts });
  });
  return pool.start();
}
