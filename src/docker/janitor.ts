// Garbage collection (`veer prune`, `docker.gc: true`): removes this installation's containers that
// no live pool or rollout claims, including those of services since removed from the config. Only
// containers labelled `veer.owner=<owner>` are looked at; an engine that does not answer is
// reported, not fatal.
import { generations, type Generations } from '../domain/generation.js';
import type { Logger } from '../domain/log.js';
import type { RolloutState } from '../domain/rollout.js';
import { orphans } from './orphans.js';
import { LABEL, type ContainerDriver } from './port.js';

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

export interface PruneReport {
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
  stopTimeoutS: number | null;
  log: Logger;
}

export class Janitor {
  constructor(private readonly d: JanitorDeps) {}

  async prune(dryRun: boolean): Promise<PruneReport> {
    const gens = new Map<string, Generations>(this.d.services().map((s) => [s, generations(this.d.latest(s))]));
    const report: PruneReport = { dryRun, containers: [], unreachable: [] };
    await Promise.all(
      this.d.engines.map(async (engine) => {
        let own;
        try {
          own = await engine.list({ all: true, labels: { [LABEL.owner]: this.d.owner } });
        } catch (e) {
          report.unreachable.push({ endpoint: engine.endpoint, error: e instanceof Error ? e.message : String(e) });
          return;
        }
        for (const o of orphans(own, gens, this.d.owner)) {
          const entry: PrunedContainer = { endpoint: engine.endpoint, id: o.container.id, name: o.container.name, service: o.service, rollout: o.generation, reason: o.reason, removed: false };
          if (!dryRun) {
            try {
              await engine.retire(o.container.id, { stopTimeoutS: this.d.stopTimeoutS });
              entry.removed = true;
              this.d.log.log('info', 'pruned container', { endpoint: engine.endpoint, container: entry.name, reason: entry.reason });
            } catch (e) {
              entry.error = e instanceof Error ? e.message : String(e);
            }
          }
          report.containers.push(entry);
        }
      }),
    );
    report.containers.sort((a, b) => a.endpoint.localeCompare(b.endpoint) || a.name.localeCompare(b.name));
    return report;
  }
}
