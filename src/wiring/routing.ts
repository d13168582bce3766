// Routing on this replica: the records it is projected from, the projection onto the data plane,
// and the acknowledgements the leader waits for before it removes a pool.
import { RouteAcks } from '../rollout/acks.js';
import { RouteProjector, type RoutePlane } from '../rollout/projection.js';
import { Records } from '../rollout/records.js';
import { routedService } from '../rollout/routed-service.js';
import { MemoryStore } from '../store/memory.js';
import type { StateStore } from '../store/port.js';
import type { RedisStore } from '../store/redis.js';
import type { Base } from './base.js';

/** Routing: the records it is projected from, the projection onto the data plane, acknowledgements. */
export async function buildRouting(
  b: Base,
  store: StateStore,
  redis: RedisStore | null,
  plane: RoutePlane,
  live: () => Promise<string[]>,
) {
  // Grows on a reload (wiring/rollouts.ts): the controller and the record feed read it at each use.
  const names: string[] = b.config.services.map((s) => s.name);
  const records = new Records({ store, log: b.log, ...(redis ? { fenced: redis } : {}) });
  await records.load(names);
  // Acknowledgements matter only between replicas; a single veer keeps its own in memory, so a state
  // file never collects the acknowledgements of processes that died.
  const acks = new RouteAcks({
    store: redis ?? new MemoryStore(),
    self: b.self,
    live,
    log: b.log,
    now: () => b.clock.now(),
    ...(redis ? { feed: redis } : {}),
  });
  const projector = new RouteProjector({
    records,
    plane,
    acks,
    services: b.config.services.map(routedService),
    log: b.log,
  });
  projector.start();
  b.closers.add('routing', async () => {
    projector.stop();
    await projector.idle();
    await acks.forget();
  });
  return { records, acks, projector, names };
}
