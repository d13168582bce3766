// Garbage collection (`veer prune`, `docker.gc: true`): removes this installation's containers that
// no live pool or rollout claims, including those of services since removed from the config. Only
// containers labelled `veer.owner=<owner>` are looked at; an engine that does not answer is
// reported, not fatal.
import type { Clock } from '../domain/clock.js';
import { generations, type Generations } from '../domain/generation.js';
import { errorMessage } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import type { RolloutState } from '../domain/rollout.js';
import { orphans } from './orphans.js';
import { LABEL, type ContainerDriver, type ContainerView } from './port.js';

export interface PrunedContainer {
  endpoint: string;
  id: string;
  name: string;
  service: string;
  rollout: string | null;
  reason: string;
  removed: boolean;
  error?: string;
}

/** What one prune found and did (the admin API's own report shape is api/ports.ts PruneReport). */
export interface JanitorReport {
  dryRun: boolean;
  containers: PrunedContainer[];
  unreachable: Array<{ endpoint: string; error: string }>;
}

export interface JanitorDeps {
  engines: readonly ContainerDriver[];
  owner: string;
  /** Every configured service (a service missing here has been removed from the config). */
  services(): readonly string[];
  latest(service: string): RolloutState | null;
  /**
   * How to tell a Docker-backed service's generations (inferred from the containers on every engine when no
   * record says); null for another service, whose rollout record alone says.
   */
  generationsOf(service: string): (() => Promise<Generations>) | null;
  stopTimeoutS: number | null;
  log: Logger;
  clock: Clock;
  /**
   * Re-reads these services' rollouts from the store first. A rollout is stored before its first container
   * is created, so after this no container can belong to a rollout this replica has not heard of.
   */
  refresh(services: readonly string[]): Promise<void>;
}

/** The live generation of every service whose generation can be told, and those that cannot. */
interface Claims {
  gens: Map<string, Generations>;
  unknown: Set<string>;
}

export class Janitor {
  constructor(private readonly d: JanitorDeps) {}

  async prune(dryRun: boolean): Promise<JanitorReport> {
    // Not serialised with the services' commands. The engines are listed before the records are read: a
    // rollout is stored before its first container is created, so every container listed belongs to a
    // rollout the records then know. Besides, nothing created since this moment is judged (the engine's
    // clock against ours: an engine whose clock lags would defeat this guard alone, not the order).
    const since = this.d.clock.now();
    const report: JanitorReport = { dryRun, containers: [], unreachable: [] };
    const listed = await Promise.all(this.d.engines.map((engine) => this.listOwn(engine, report)));
    // The services configured now, read at each prune: a reload may have removed some since the start.
    const services = this.d.services();
    await this.d.refresh(services);
    const claims = await this.claims(services, report.unreachable.length > 0);
    await Promise.all(
      this.d.engines.map((engine, i) => this.pruneEngine(engine, listed[i] ?? null, claims, since, report)),
    );
    report.containers.sort((a, b) => a.endpoint.localeCompare(b.endpoint) || a.name.localeCompare(b.name));
    return report;
  }

  /** This owner's containers on `engine`, or null (reported) when it does not answer. */
  private async listOwn(engine: ContainerDriver, report: JanitorReport): Promise<ContainerView[] | null> {
    try {
      return await engine.list({ all: true, labels: { [LABEL.owner]: this.d.owner } });
    } catch (e) {
      report.unreachable.push({ endpoint: engine.endpoint, error: errorMessage(e) });
      return null;
    }
  }

  /**
   * A service whose live generation cannot be told (an engine down, no rollout record) keeps all its containers.
   * A Docker-backed one's is read from every engine: while one did not answer the listing (it is reported), it
   * is not asked again, once per service, each waiting out that engine's timeout (a hung engine made a prune
   * of a dozen services outlast the CLI's wait); the services are asked at once, not one after another.
   */
  private async claims(services: readonly string[], engineDown: boolean): Promise<Claims> {
    const gens = new Map<string, Generations>();
    const unknown = new Set<string>();
    await Promise.all(
      services.map(async (s) => {
        const infer = this.d.generationsOf(s);
        if (infer === null) gens.set(s, generations(this.d.latest(s)));
        else if (engineDown) unknown.add(s);
        else
          await infer().then(
            (g) => void gens.set(s, g),
            () => void unknown.add(s),
          );
      }),
    );
    return { gens, unknown };
  }

  private async pruneEngine(
    engine: ContainerDriver,
    own: readonly ContainerView[] | null,
    claims: Claims,
    since: number,
    report: JanitorReport,
  ): Promise<void> {
    if (own === null) return;
    const judged = own.filter((c) => c.created < since && !claims.unknown.has(c.labels[LABEL.service] ?? ''));
    await Promise.all(
      orphans(judged, claims.gens, this.d.owner).map(async (o) => {
        const entry: PrunedContainer = {
          endpoint: engine.endpoint,
          id: o.container.id,
          name: o.container.name,
          service: o.service,
          rollout: o.generation,
          reason: o.reason,
          removed: false,
        };
        report.containers.push(entry);
        if (!report.dryRun) await this.remove(engine, entry);
      }),
    );
  }

  private async remove(engine: ContainerDriver, entry: PrunedContainer): Promise<void> {
    try {
      await engine.retire(entry.id, { stopTimeoutS: this.d.stopTimeoutS, volumes: true });
      entry.removed = true;
      this.d.log.log('info', 'pruned container', {
        endpoint: engine.endpoint,
        container: entry.name,
        reason: entry.reason,
      });
    } catch (e) {
      entry.error = errorMessage(e);
    }
  }
}
