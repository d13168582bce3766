// Veer's Docker side assembled from the config: one engine per endpoint, the rollout fleet, the
// janitor and (once the rollouts exist to say who leads) the membership watcher. Nothing here
// contacts an engine until it is used, so a config without Docker pools (the embedded default)
// never needs a Docker socket.
import type { Config, ServiceConfig } from '../config/schema.js';
import type { Clock } from '../domain/clock.js';
import { ConfigError } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import type { RolloutState } from '../domain/rollout.js';
import { dockerOptions } from './endpoint.js';
import { DockerEngine } from './engine.js';
import { DockerFleet, type FleetService } from './fleet.js';
import { Janitor } from './janitor.js';
import type { DockerService } from './membership.js';
import { DockerPools, type PoolsDeps } from './pools.js';
import type { ContainerDriver } from './port.js';

export interface StackDeps {
  clock: Clock;
  log: Logger;
  latest(service: string): RolloutState | null;
  /** Re-reads the rollouts from the store (before garbage collection decides). */
  refresh(): Promise<void>;
}

/** What the membership watcher needs once the rollouts are running. */
export type WatchDeps = Pick<PoolsDeps, 'membership' | 'leading'>;

export function dockerService(s: ServiceConfig): DockerService | null {
  if (!s.stable.docker) return null;
  return {
    name: s.name,
    stable: s.stable.docker,
    canary: s.canary.docker,
    manageCanary: s.canary.targets.length === 0,
  };
}

/** Engines for every configured endpoint; a bad endpoint (unreadable TLS file, unknown scheme) is a ConfigError. */
export function openEngines(config: Config, log: Logger): ContainerDriver[] {
  return config.docker.endpoints.map((ep, i) => {
    const o = dockerOptions(ep);
    if (!o.ok)
      throw new ConfigError(`docker.endpoints.${i}: ${o.message}`, [
        { path: `docker.endpoints.${i}`, message: o.message },
      ]);
    return new DockerEngine(ep.name, o.options, o.publishedHost, { log });
  });
}

export class DockerStack {
  readonly fleet: DockerFleet;
  readonly janitor: Janitor;
  private pools: DockerPools | null = null;
  private readonly services: DockerService[] = [];
  private readonly owner: string;
  private readonly log: Logger;

  constructor(
    readonly engines: readonly ContainerDriver[],
    config: Config,
    d: StackDeps,
  ) {
    const services = this.services;
    const fleetServices = new Map<string, FleetService>();
    for (const s of config.services) {
      const docker = dockerService(s);
      if (!docker) continue;
      services.push(docker);
      fleetServices.set(s.name, {
        docker,
        health: s.healthCheck ? { path: s.healthCheck.path, expectStatusBelow: s.healthCheck.expectStatusBelow } : null,
      });
    }
    const owner = config.docker.owner;
    this.owner = owner;
    this.log = d.log;
    const stopTimeoutS = config.docker.stopTimeout === undefined ? null : Math.ceil(config.docker.stopTimeout / 1000);
    const byName = new Map(services.map((s) => [s.name, s]));
    this.fleet = new DockerFleet({
      engines,
      services: fleetServices,
      owner,
      stopTimeoutS,
      latest: d.latest,
      clock: d.clock,
      log: d.log,
    });
    const names = config.services.map((s) => s.name);
    const fleet = this.fleet;
    this.janitor = new Janitor({
      engines,
      owner,
      services: () => names,
      latest: d.latest,
      generationsOf: (s) => (byName.has(s) ? fleet.generationsOf(s) : null),
      stopTimeoutS,
      log: d.log,
      clock: d.clock,
      refresh: d.refresh,
    });
  }

  /** Whether any service takes its pools from Docker (only then are engines watched). */
  static needed(config: Config): boolean {
    return config.services.some((s) => s.stable.docker !== undefined);
  }

  /** Starts recording the services' membership (first listing included). */
  async watch(w: WatchDeps): Promise<void> {
    this.pools = new DockerPools({
      engines: this.engines,
      services: this.services,
      owner: this.owner,
      log: this.log,
      ...w,
    });
    await this.pools.start();
  }

  stop(): void {
    this.pools?.stop();
    for (const e of this.engines) e.close();
  }
}
