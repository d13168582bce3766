// The only place concrete pieces are wired together: one builder per subsystem, in the order they
// depend on each other, each registering how it is closed; closing runs that list backwards.
import { randomUUID } from 'node:crypto';
import { checkAdminExposure } from './api/auth.js';
import { ClusterMembership } from './cluster.js';
import type { Config } from './config/schema.js';
import { DataPlane } from './dataplane/dataplane.js';
import { DockerStack } from './docker/stack.js';
import { systemClock, type Clock, type Random } from './domain/clock.js';
import { jsonLogger, type Logger } from './domain/log.js';
import { MetricsRegistry } from './metrics/registry.js';
import { SelfAddresses } from './self-address.js';
import { listen } from './wiring/admin.js';
import type { Base, RunningVeer } from './wiring/base.js';
import { Closers } from './wiring/closers.js';
import { buildAcme } from './wiring/acme.js';
import { replaceCertificates } from './wiring/certificates.js';
import { buildDocker, collectGarbage } from './wiring/docker.js';
import { buildEvents } from './wiring/events.js';
import { buildRouting } from './wiring/routing.js';
import { buildReload } from './wiring/reload.js';
import { buildController } from './wiring/rollouts.js';
import { buildStore } from './wiring/store.js';
import { buildWorkers, clusterPlane } from './wiring/workers.js';
import { MERGED_AFTER_MS } from './workers/metrics-ship.js';
import type { ShippedSeconds } from './workers/shipped-seconds.js';
import type { RedisStore } from './store/redis.js';

export interface StartOptions {
  clock?: Clock;
  random?: Random;
  log?: Logger;
  /** The file the config came from: what SIGHUP, `veer reload` and the file watcher re-read. */
  configPath?: string;
  /** Re-applies certificates and TLS settings on a reload (provided by the TLS front door). */
  reloadTls?: (config: Config) => Promise<void>;
  /**
   * Data-plane processes (`veer start` resolves `workers` into this). Default 1: veer started as a
   * library (in-process) never forks, whatever the config says.
   */
  workers?: number;
}

export type { RunningVeer } from './wiring/base.js';
import { VERSION } from './version.js';
export { VERSION };

export async function startVeer(config: Config, opts: StartOptions = {}): Promise<RunningVeer> {
  const exposure = checkAdminExposure(config.admin.listen.host, config.admin.token);
  if (!exposure.ok) throw exposure.error;
  const b: Base = {
    config,
    clock: opts.clock ?? systemClock,
    log: opts.log ?? jsonLogger(),
    self: randomUUID(),
    closers: new Closers(),
    workers: opts.workers ?? 1,
  };
  try {
    return await assemble(b, opts);
  } catch (e) {
    await b.closers.closeAll(b.log);
    throw e;
  }
}

/** With Redis, the replicas' membership, lease and the flusher of this replica's seconds; null without. */
function buildCluster(
  b: Base,
  redis: RedisStore | null,
  metrics: MetricsRegistry,
  shipped: ShippedSeconds | null,
): ClusterMembership | null {
  const { config, clock, log, self } = b;
  return redis
    ? new ClusterMembership({
        redis,
        prefix: config.state.prefix,
        self,
        leaseTtlMs: config.state.leaseTtl,
        clock,
        log,
        metrics,
        version: VERSION,
        // The workers' seconds reach this process's windows first: ship them once they are all in.
        ...(shipped
          ? { flushGraceMs: MERGED_AFTER_MS, flushLastComplete: (t: number) => shipped.lastComplete(t) }
          : {}),
      })
    : null;
}

async function assemble(b: Base, opts: StartOptions): Promise<RunningVeer> {
  const { config, clock, log, self } = b;
  const { store, redis } = await buildStore(b);
  const metrics = new MetricsRegistry();
  const plane = new DataPlane(config, { clock, random: opts.random ?? Math.random, log, metrics });
  plane.configure(config.services);
  const workers = buildWorkers(b, plane, metrics);
  const shipped = workers?.shipped ?? null;
  const { events, emit, setWebhooks } = await buildEvents(b, redis, metrics);
  const cluster = buildCluster(b, redis, metrics, shipped);
  if (cluster) b.closers.add('cluster', () => cluster.stop());
  const live = cluster ? () => cluster.liveIds() : async () => [self];
  const routing = await buildRouting(b, store, redis, workers ? clusterPlane(plane, workers) : plane, live);
  const docker = buildDocker(b, routing.records);
  const redisAhead = cluster ? () => cluster.secondsAhead() : undefined;
  const parts = { routing, redis, metrics, plane, emit, docker, shipped, ...(redisAhead ? { redisAhead } : {}) };
  const { controller, setServices } = buildController(b, parts);
  // Several replicas: the lease (started once the admin API listens) decides who leads.
  if (cluster) controller.startFollowing();
  else await controller.restore();
  // After the rollouts are loaded: the watcher records membership only while this replica leads.
  if (docker && DockerStack.needed(config)) {
    await docker.watch({
      membership: { current: (s) => routing.records.members(s), record: (s, m) => controller.recordMembers(s, m) },
      leading: () => controller.isLeading(),
    });
  }
  const gc = config.docker.gc && docker ? collectGarbage(docker, controller, log) : null;
  if (gc) b.closers.add('garbage collection', async () => gc.cancel());
  const records = routing.records;
  let token = config.admin.token;
  const selfAddresses = new SelfAddresses(config);
  const reloader = buildReload(b, {
    path: opts.configPath,
    ...{ plane, records, projector: routing.projector, controller, setPolicies: setServices, setWebhooks, emit },
    selfAddresses,
    workers,
    setToken: (t) => (token = t),
    reloadTls: opts.reloadTls ?? ((c) => replaceCertificates(plane, c)),
  });
  const leading = () => controller.isLeading();
  const acme = buildAcme(b, { store, redis, plane, random: opts.random ?? Math.random, leading, emit });
  const deps = { plane, metrics, controller, events, store: redis, cluster, docker, emit, records, workers };
  const extraMetrics = () => [...(acme?.metrics.families() ?? []), ...(cluster?.families() ?? [])];
  const running = await listen(b, { ...deps, token: () => token, reloader, selfAddresses, extraMetrics });
  acme?.start();
  return running;
}
