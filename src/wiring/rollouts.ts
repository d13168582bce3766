// The rollout controller, wired to the records, the metrics it judges and the Docker fleet.
import { randomUUID } from 'node:crypto';
import type { ServiceConfig } from '../config/schema.js';
import type { DataPlane } from '../dataplane/dataplane.js';
import { MergedMetricsSource } from '../metrics/merged-source.js';
import { HOLD_IDLE_MS } from '../metrics/read-shift.js';
import type { ShippedSeconds } from '../workers/shipped-seconds.js';
import type { MetricsRegistry } from '../metrics/registry.js';
import type { DockerStack } from '../docker/stack.js';
import { RolloutController } from '../rollout/controller.js';
import { HttpGateCaller } from '../rollout/gate-http.js';
import { configHash } from '../rollout/routed-service.js';
import type { RedisStore } from '../store/redis.js';
import type { Base } from './base.js';
import type { Emit } from './events.js';
import type { buildRouting } from './routing.js';

export interface ControllerParts {
  routing: Awaited<ReturnType<typeof buildRouting>>;
  redis: RedisStore | null;
  metrics: MetricsRegistry;
  plane: DataPlane;
  emit: Emit;
  docker: DockerStack | null;
  /** With workers: which seconds they have all shipped (null: this process serves the traffic itself). */
  shipped: ShippedSeconds | null;
  /** With Redis: whole seconds its clock is ahead of this replica's (ClusterMembership), the flusher's shift. */
  redisAhead?: () => number | null;
}

export function buildController(b: Base, p: ControllerParts) {
  const { config } = b;
  let policies = new Map(config.services.map((s) => [s.name, s.rollout]));
  let hashes = new Map(config.services.map((s) => [s.name, configHash(s)]));
  const prefix = config.state.prefix;
  const shipped = p.shipped;
  const controller = new RolloutController({
    clock: b.clock,
    log: b.log,
    records: p.routing.records,
    services: p.routing.names,
    // With several replicas the judge reads the exact sum of every replica's windows from Redis. With
    // workers, a second is in this process's windows only once every worker has shipped it: judged before,
    // the workers' share of it would never be (each second is analysed once).
    metrics: p.redis
      ? new MergedMetricsSource({
          redis: p.redis.raw(),
          prefix,
          ...(p.redisAhead ? { secondsAhead: p.redisAhead } : {}),
          // A rollout reads once per analysisInterval: its shift is held across those pauses (read-shift.ts).
          holdIdleMs: () =>
            Math.max(HOLD_IDLE_MS, 3 * Math.max(0, ...[...policies.values()].map((r) => r.analysisInterval))),
        })
      : {
          totals: async (service, pool, from, to) => p.metrics.pool(service, pool).totals(from, to),
          ...(shipped ? { lastComplete: (now: number) => shipped.lastComplete(now) } : {}),
        },
    emit: p.emit,
    policyOf: (service) => policies.get(service),
    configHash: (service) => hashes.get(service) ?? '',
    routeOf: (service) => p.routing.projector.route(service),
    acks: p.routing.acks,
    newId: () => randomUUID(),
    ...(p.redis ? { feed: p.redis } : {}),
    ...(p.docker ? { fleet: p.docker.fleet } : {}),
    gate: {
      checks: (service) => p.plane.serviceConfig(service)?.healthCheck?.enabled === true,
      wait: (service, ids, deadline, signal) => p.plane.awaitHealthy(service, 'canary', ids, deadline, signal),
    },
    gates: new HttpGateCaller({ replica: b.self }),
  });
  b.closers.add('rollouts', () => controller.stop());
  /** A reload: next rollouts use the new policies; a rollout running keeps the policy it started with. */
  const setServices = (services: readonly ServiceConfig[]): void => {
    policies = new Map(services.map((s) => [s.name, s.rollout]));
    hashes = new Map(services.map((s) => [s.name, configHash(s)]));
    for (const s of services) if (!p.routing.names.includes(s.name)) p.routing.names.push(s.name);
    // The Docker watcher stops following a service the reload removed.
    p.docker?.configure(services);
  };
  return { controller, setServices };
}
