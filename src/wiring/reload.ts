// Reload: the parts a new config file reaches, and its triggers (SIGHUP is the CLI's, in
// cli/commands/start.ts; `POST /v1/reload` the admin API's; the file watcher's is here).
import type { Config } from '../config/schema.js';
import { inspectConfigFile } from '../config/load.js';
import type { DataPlane } from '../dataplane/dataplane.js';
import { ConfigError, err } from '../domain/errors.js';
import type { RolloutController } from '../rollout/controller.js';
import type { Records } from '../rollout/records.js';
import { configHash, routedService } from '../rollout/routed-service.js';
import type { RolloutState } from '../domain/rollout.js';
import type { RouteProjector } from '../rollout/projection.js';
import { Reloader, type ReloadParts } from '../reload/reloader.js';
import { watchConfigFile } from '../reload/watch.js';
import type { SelfAddresses } from '../self-address.js';
import type { Base } from './base.js';
import type { Emit } from './events.js';
import { sendAccessLog, sendCertificates } from '../workers/fanout.js';
import type { WorkerPool } from '../workers/primary.js';

export interface ReloadWiring {
  /** The file `veer start` read; without one, every reload is refused. */
  path: string | undefined;
  plane: DataPlane;
  records: Records;
  projector: RouteProjector;
  controller: RolloutController;
  setPolicies(services: Config['services']): void;
  setWebhooks: ReloadParts['setWebhooks'];
  setToken(token: string): void;
  emit: Emit;
  selfAddresses: SelfAddresses;
  reloadTls?: (config: Config) => Promise<void>;
  /** The data-plane processes (`workers` > 1): listener, access log and certificates reach them too. */
  workers: WorkerPool | null;
}

export function buildReload(b: Base, w: ReloadWiring): Reloader {
  const { path } = w;
  const reloader = new Reloader({
    config: b.config,
    log: b.log,
    emit: (e) => w.emit(e),
    parts: {
      load: async () =>
        path === undefined
          ? err(new ConfigError('veer was started without a config file: there is nothing to reload'))
          : (await inspectConfigFile(path, process.env, {}, true)).result,
      prepare: (added) => w.records.load(added),
      abort: async (service, reason) => {
        const r = await w.controller.abortFor(service, reason);
        if (!r.ok) b.log.log('warn', 'abort by a reload failed', { service, reason, error: r.error.message });
      },
      abortOutdated: async (next, reason) => {
        const r = await w.controller.abortFor(next.name, reason, (s) => movesPools(s, next));
        if (!r.ok)
          b.log.log('warn', 'abort by a reload failed', { service: next.name, reason, error: r.error.message });
      },
      apply: (services) => {
        // One synchronous step and one table swap: no request sees the data plane and the projection
        // disagree, and the targets only the projection routes (a canary, containers) keep their upstreams
        // (connections, health verdicts, outlier streaks) rather than being released and made anew.
        w.plane.batch(() => {
          w.plane.configure(services);
          w.projector.setServices(services.map(routedService));
        });
        w.setPolicies(services);
      },
      rebind: async (listen) => {
        const bound = w.workers ? await w.workers.rebind(listen) : await w.plane.listen(listen);
        w.selfAddresses.moved('data-plane', bound);
        return bound;
      },
      setToken: w.setToken,
      setWebhooks: w.setWebhooks,
      setAccessLog: async (c) => {
        if (w.workers) sendAccessLog(w.workers, c);
        else await w.plane.accessLog.configure(c);
      },
      ...(w.reloadTls ? { reloadTls: tlsEverywhere(w.reloadTls, w.workers) } : {}),
    },
  });
  if (path !== undefined && b.config.reload.watch) {
    const watch = watchConfigFile(path, b.config.reload.debounce, () => void reloader.reload('watch'), b.log);
    b.closers.add('config watch', async () => watch.close());
  }
  return reloader;
}

/** Whether `next` takes the static pools from the rollout (its lists are no longer those it started under). */
function movesPools(r: RolloutState, next: Config['services'][number]): boolean {
  return next.stable.docker === undefined && r.configHash !== undefined && r.configHash !== configHash(next);
}

/** With workers, the certificates are theirs to serve: the primary only passes them on. */
function tlsEverywhere(reloadTls: (c: Config) => Promise<void>, workers: WorkerPool | null) {
  if (workers === null) return reloadTls;
  // Checked on the primary's own front first: a pair that cannot be used refuses the reload here.
  return async (c: Config) => {
    await reloadTls(c);
    sendCertificates(workers, c);
  };
}
