// A service's configured routing, as the projection reads it (domain/route.ts).
import { createHash } from 'node:crypto';
import type { ServiceConfig } from '../config/schema.js';
import type { RoutedService } from '../domain/route.js';

/** Fingerprint of the configured pool lists: a rollout's pools give way once these change. */
export function configHash(s: ServiceConfig): string {
  const ids = { stable: s.stable.targets.map((t) => t.id), canary: s.canary.targets.map((t) => t.id) };
  return createHash('sha256').update(JSON.stringify(ids)).digest('hex').slice(0, 16);
}

export function routedService(s: ServiceConfig): RoutedService {
  return {
    name: s.name,
    stable: s.stable.targets.map((t) => t.id),
    canary: s.canary.targets.map((t) => t.id),
    weightBp: s.weight,
    configHash: configHash(s),
    docker: s.stable.docker ? { manageCanary: s.canary.targets.length === 0 } : null,
  };
}
