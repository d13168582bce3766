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
  /** Re-reads these services' rollouts from the store (before garbage collection decides). */
  refresh(services: readonly string[]): Promise<void>;
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

const fleetService = (s: ServiceConfig, docker: DockerService): FleetService => ({
  docker,
  health: s.healthCheck ? { path: s.healthCheck.path, expectStatusBelow: s.healthCheck.expectStatusBelow } : null,
});

export class DockerStack {
  readonly fleet: DockerFleet;
  readonly janitor: Janitor;
  private pools: DockerPools | null = null;
  /** The running config's services (a reload changes them: see configure). */
  private names: readonly string[] = [];
  private services: readonly DockerService[] = [];
  private readonly owner: string;
  private readonly log: Logger;

  constructor(
    readonly engines: readonly ContainerDriver[],
    config: Config,
    d: StackDeps,
  ) {
    this.configure(config.services);
    const fleetServices = new Map<string, FleetService>();
    for (const s of config.services) {
      const docker = dockerService(s);
      if (docker) fleetServices.set(s.name, fleetService(s, docker));
    }
    const owner = config.docker.owner;
    this.owner = owner;
    this.log = d.log;
    const stopTimeoutS = config.docker.stopTimeout === undefined ? null : Math.ceil(config.docker.stopTimeout / 1000);
    this.fleet = new DockerFleet({
      engines,
      services: fleetServices,
      owner,
      stopTimeoutS,
      latest: d.latest,
      clock: d.clock,
      log: d.log,
    });
    const fleet = this.fleet;
    this.janitor = new Janitor({
      engines,
      owner,
      services: () => this.names,
      latest: d.latest,
      generationsOf: (s) => (this.services.some((x) => x.name === s) ? () => fleet.generationsOf(s) : null),
      stopTimeoutS,
      log: d.log,
      clock: d.clock,
      refresh: d.refresh,
    });
  }

  /**
   * The services of the config now running (after a reload). Garbage collection judges by them, so a
   * service a reload removed has its containers pruned, and the watcher stops following it. The fleet
   * keeps the services it started with: the rollout a removal aborts may still be removing its canaries
   * through it after the swap (a reload can remove a Docker service, never add or change one).
   */
  configure(services: readonly ServiceConfig[]): void {
    this.names = services.map((s) => s.name);
    this.services = services.flatMap((s) => dockerService(s) ?? []);
  }

  /** Whether any service takes its pools from Docker (only then are engines watched). */
  static needed(config: Config): boolean {
    return config.services.some((s) => s.stable.docker !== undefined);
  }

  /** Starts recording the services' membership (first listing included). */
  async watch(w: WatchDeps): Promise<void> {
    this.pools = new DockerPools({
      engines: this.engines,
      services: () => this.services,
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
