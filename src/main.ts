// The only place concrete pieces are wired together.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { buildApp } from './api/app.js';
import { checkAdminExposure } from './api/auth.js';
import type { ReadyState } from './api/ports.js';
import type { Config } from './config/schema.js';
import { DataPlane } from './dataplane/dataplane.js';
import { systemClock, type Clock, type Random } from './domain/clock.js';
import { jsonLogger, type Logger } from './domain/log.js';
import { renderPrometheus } from './metrics/prometheus.js';
import { gauges } from './gauges.js';
import { MetricsRegistry } from './metrics/registry.js';
import type { RolloutEvent } from './domain/rollout.js';
import { EventRelay, type PubSubConnection } from './rollout/event-relay.js';
import { RolloutController } from './rollout/controller.js';
import { ServiceDesk } from './rollout/desk.js';
import { EventLog } from './rollout/events.js';
import { RoutingBook } from './rollout/routing.js';
import { WebhookNotifier } from './rollout/webhooks.js';
import { ClusterMembership } from './cluster.js';
import { SelfAddresses } from './self-address.js';
import { MergedMetricsSource } from './metrics/merged-source.js';
import { FileStore } from './store/file.js';
import { RedisStore } from './store/redis.js';
import { MemoryStore } from './store/memory.js';
import type { StateStore } from './store/port.js';
import { DockerStack, openEngines } from './docker/stack.js';
import type { PruneReport } from './api/ports.js';
import { err, ok, UnavailableError, type Result } from './domain/errors.js';

export interface StartOptions {
  clock?: Clock;
  random?: Random;
  log?: Logger;
}

export interface RunningVeer {
  readonly data: AddressInfo;
  readonly admin: AddressInfo;
  readonly plane: DataPlane;
  /** Graceful: stop accepting, let in-flight requests finish (bounded), release everything. */
  close(): Promise<void>;
}

export const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
      .version;
  } catch {
    return '0.0.0';
  }
})();

async function openStore(config: Config, log: Logger): Promise<{ store: StateStore; redis: RedisStore | null }> {
  switch (config.state.store) {
    case 'memory':
      return { store: new MemoryStore(), redis: null };
    case 'file':
      return { store: await FileStore.open(config.state.path), redis: null };
    case 'redis': {
      const redis = await RedisStore.connect(config.state.redis as string, { prefix: config.state.prefix, log });
      return { store: redis, redis };
    }
  }
}

export async function startVeer(config: Config, opts: StartOptions = {}): Promise<RunningVeer> {
  const exposure = checkAdminExposure(config.admin.listen.host, config.admin.token);
  if (!exposure.ok) throw exposure.error;
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? jsonLogger();
  const { store, redis } = await openStore(config, log);
  const metrics = new MetricsRegistry();
  const plane = new DataPlane(config, { clock, random: opts.random ?? Math.random, log, metrics });
  plane.configure(config.services);
  const routing = new RoutingBook(plane, store, clock);
  await routing.restore(config.services);
  const self = randomUUID();
  const events = new EventLog({ clock, log });
  const emit = (e: Omit<RolloutEvent, 'seq' | 'at'>): void => void events.append({ ...e, origin: self });
  const notifier = new WebhookNotifier(config.notifications.webhooks, { clock, log });
  // Webhooks go out from the replica that emitted the event, not from every replica it reached.
  events.subscribe(null, (e) => {
    if (e.origin === undefined || e.origin === self) notifier.notify(e);
  });
  const policies = new Map(config.services.map((s) => [s.name, s.rollout]));
  // Docker is only contacted when a service's pools come from it (or gc asks for it).
  let controller: RolloutController | null = null;
  const stackDeps = {
    clock,
    log,
    routing,
    latest: (s: string) => controller?.latest(s) ?? null,
    leading: () => controller?.isLeading() ?? false,
    refresh: async () => controller?.refresh(),
  };
  let stack =
    DockerStack.needed(config) || config.docker.gc
      ? new DockerStack(openEngines(config, log), config, stackDeps)
      : null;
  controller = new RolloutController({
    clock,
    log,
    store,
    routing,
    // With several replicas the judge reads the exact sum of every replica's windows from Redis.
    metrics: redis
      ? new MergedMetricsSource({ redis: redis.raw(), prefix: config.state.prefix })
      : { totals: async (service, pool, from, to) => metrics.pool(service, pool).totals(from, to) },
    drain: (ids, timeoutMs) => plane.drain(ids, timeoutMs),
    emit,
    policyOf: (service) => policies.get(service),
    newId: () => randomUUID(),
    ...(redis ? { fenced: redis, feed: redis } : {}),
    ...(stack ? { fleet: stack.fleet } : {}),
    gate: {
      checks: (service) => plane.serviceConfig(service)?.healthCheck?.enabled === true,
      wait: (service, ids, deadline, signal) => plane.awaitHealthy(service, 'canary', ids, deadline, signal),
    },
  });
  const names = config.services.map((s) => s.name);
  let cluster: ClusterMembership | null = null;
  let relay: EventRelay | null = null;
  if (redis) {
    routing.follow(redis);
    relay = new EventRelay(redis.raw() as unknown as PubSubConnection, config.state.prefix, self, events, log);
    await relay.start();
    await controller.startFollowing(names);
    cluster = new ClusterMembership({
      redis,
      prefix: config.state.prefix,
      self,
      leaseTtlMs: config.state.leaseTtl,
      clock,
      log,
      metrics,
      controller,
      version: VERSION,
    });
  } else {
    await controller.restore(names);
  }
  // After the rollouts are loaded: which container generation is stable depends on them.
  if (stack && DockerStack.needed(config)) await stack.pools.start();
  const gc = config.docker.gc && stack ? collectGarbage(stack, controller, log) : null;
  const prune = async (dryRun: boolean): Promise<Result<PruneReport>> => {
    try {
      stack ??= new DockerStack(openEngines(config, log), config, stackDeps);
    } catch (e) {
      return err(new UnavailableError(`docker is not usable: ${e instanceof Error ? e.message : String(e)}`));
    }
    return ok(await stack.janitor.prune(dryRun));
  };
  const desk = new ServiceDesk(plane, routing, controller, metrics, clock, log, emit);
  let listening = false;
  const selfAddresses = new SelfAddresses(config);

  const app = buildApp(
    {
      services: desk,
      rollouts: controller,
      events,
      metricsText: () => renderPrometheus(metrics, gauges(plane, controller)),
      readiness: (): ReadyState => ({
        ready: listening,
        checks: {
          dataplane: listening ? 'ok' : 'failing',
          store: redis === null || redis.status() === 'up' ? 'ok' : 'degraded',
        },
      }),
      cluster: () =>
        cluster?.view() ?? {
          self,
          leader: self,
          replicas: [{ id: self, seenAt: new Date(clock.now()).toISOString() }],
        },
      prune,
      isSelf: selfAddresses.isSelf,
      token: config.admin.token,
      version: VERSION,
    },
    { logger: log },
  );
  try {
    await app.listen({ host: config.admin.listen.host, port: config.admin.listen.port });
    // Health-checked targets start pending (no traffic): give their first probes a moment so the
    // first requests are not answered 503 while a healthy pool is being confirmed.
    await plane.settleHealth();
    const data = await plane.listen();
    listening = true;
    const admin = app.server.address() as AddressInfo;
    selfAddresses.bound({ 'data-plane': data, admin });
    await cluster?.start(`http://${admin.address.includes(':') ? `[${admin.address}]` : admin.address}:${admin.port}`);
    log.log('info', 'veer started', {
      version: VERSION,
      listen: `${data.address}:${data.port}`,
      admin: `${admin.address}:${admin.port}`,
      services: plane.serviceNames(),
    });
    return {
      data,
      admin,
      plane,
      async close() {
        listening = false;
        gc?.cancel();
        await controller.stop();
        stack?.stop();
        routing.stop();
        const r = await plane.close(config.proxy.timeouts.shutdown);
        log.log(r.drained ? 'info' : 'warn', 'data plane closed', r);
        await cluster?.stop();
        await relay?.stop();
        await app.close();
        await notifier.close();
        await store.close();
      },
    };
  } catch (e) {
    gc?.cancel();
    await controller.stop().catch(() => undefined);
    stack?.stop();
    routing.stop();
    await cluster?.stop().catch(() => undefined);
    await relay?.stop().catch(() => undefined);
    await plane.close(0).catch(() => undefined);
    await app.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw e;
  }
}

/** `docker.gc: true`: prune once, as soon as this replica leads (at once for a single veer). */
function collectGarbage(stack: DockerStack, controller: RolloutController, log: Logger): { cancel(): void } {
  let done = false;
  const attempt = (): void => {
    if (done || !controller.isLeading()) return;
    done = true;
    clearInterval(timer);
    void stack.janitor
      .prune(false)
      .then((r) =>
        log.log('info', 'garbage collection at start', {
          removed: r.containers.filter((c) => c.removed).map((c) => c.name),
          unreachable: r.unreachable,
        }),
      )
      .catch((e: unknown) => log.log('warn', 'garbage collection at start failed', { error: String(e) }));
  };
  const timer = setInterval(attempt, 1_000);
  timer.unref();
  attempt();
  return { cancel: () => clearInterval(timer) };
}
