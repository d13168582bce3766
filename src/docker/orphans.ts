// Pure: which of this installation's containers belong to no live pool or rollout. Only containers
// carrying `veer.owner=<owner>` are ever candidates - a container veer did not create is never
// garbage, whatever its other labels say.
import type { Generations } from '../domain/generation.js';
import { generationOf } from './membership.js';
import { LABEL, type ContainerView } from './port.js';

export interface Orphan {
  container: ContainerView;
  service: string;
  generation: string | null;
  reason: string;
}

/**
 * `gens` has an entry for every configured service (its generations from the latest rollout);
 * services missing from it have been removed from the config.
 */
export function orphans(
  containers: readonly ContainerView[],
  gens: ReadonlyMap<string, Generations>,
  owner: string,
): Orphan[] {
  const out: Orphan[] = [];
  for (const c of containers) {
    if (c.labels[LABEL.owner] !== owner) continue;
    const service = c.labels[LABEL.service] ?? '';
    const generation = generationOf(c);
    const g = gens.get(service);
    if (g === undefined) {
      out.push({
        container: c,
        service,
        generation,
        reason:
          service === ''
            ? 'it names no service (veer.service label missing)'
            : `service "${service}" is no longer configured`,
      });
      continue;
    }
    const live =
      generation === g.stable ||
      (g.hasCanary && generation === g.canary) ||
      (g.hasRetiring && generation === g.retiring);
    if (!live)
      out.push({
        container: c,
        service,
        generation,
        reason:
          `generation ${generation ?? '(unlabelled)'} of "${service}" is neither stable ` +
          `(${g.stable ?? 'unlabelled'}) nor a running rollout's`,
      });
  }
  return out.sort((a, b) => a.container.name.localeCompare(b.container.name));
}
