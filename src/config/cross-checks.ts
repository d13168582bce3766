// Checks that span several fields of the config: unique service names, Docker endpoint references,
// two services claiming the same host and path prefix, static targets that are veer itself. They run
// on the best-effort parts of the raw tree (config-tree.ts), so they are reported together with the
// schema's field errors instead of only once every field is valid.
import type { Problem } from '../domain/errors.js';
import { selfTarget, type Listener } from '../domain/self-address.js';
import { POOLS, type ConfigParts, type ServiceParts } from './config-tree.js';

export function duplicateNames(services: readonly ServiceParts[]): Problem[] {
  const seen = new Map<string, number>();
  const problems: Problem[] = [];
  for (const s of services) {
    if (s.name === null) continue;
    const prev = seen.get(s.name);
    if (prev !== undefined)
      problems.push({
        path: `services[${s.index}].name`,
        message: `duplicate service name "${s.name}" (also services[${prev}])`,
      });
    else seen.set(s.name, s.index);
  }
  return problems;
}

export function dockerReferences(
  services: readonly ServiceParts[],
  endpoints: ConfigParts['docker']['endpoints'],
): Problem[] {
  if (endpoints === null) return [];
  const names = new Set(endpoints.flatMap((e) => (e.name === null ? [] : [e.name])));
  const problems: Problem[] = [];
  for (const s of services) {
    for (const pool of POOLS) {
      const docker = s.pools[pool].docker;
      if (docker === null) continue;
      const at = `services[${s.index}].${pool}.docker`;
      if (endpoints.length === 0)
        problems.push({ path: at, message: 'needs a Docker engine, but docker.endpoints is empty' });
      else if (docker.endpoint !== null && !names.has(docker.endpoint)) {
        problems.push({
          path: `${at}.endpoint`,
          message: `no docker endpoint named "${docker.endpoint}" (docker.endpoints has: ${[...names].join(', ')})`,
        });
      }
    }
  }
  return problems;
}

/**
 * The same host, spelled the same (case aside), with the same prefix in two services: one of them
 * can never be reached.
 */
export function identicalRoutes(services: readonly ServiceParts[]): Problem[] {
  const routes = new Map<string, string | null>();
  const problems: Problem[] = [];
  for (const s of services) {
    if (s.match === null) continue;
    for (const h of s.match.hosts) {
      const key = `${h.toLowerCase()}|${s.match.pathPrefix}`;
      const other = routes.get(key);
      if (other !== undefined && other !== s.name) {
        problems.push({
          path: 'services',
          message:
            `services "${other}" and "${s.name}" both match host "${h}" ` + `with path prefix "${s.match.pathPrefix}"`,
        });
      }
      routes.set(key, s.name);
    }
  }
  return problems;
}

/** The listeners a static config names; port 0 is only known once bound, so it never matches. */
export function configuredListeners(parts: Pick<ConfigParts, 'listen' | 'admin'>): Listener[] {
  const out: Listener[] = [];
  if (parts.listen) out.push({ role: 'data-plane', ...parts.listen });
  if (parts.admin) out.push({ role: 'admin', ...parts.admin.listen });
  return out;
}

export function selfTargets(parts: ConfigParts, localAddresses: ReadonlySet<string>): Problem[] {
  const listeners = configuredListeners(parts);
  const problems: Problem[] = [];
  for (const s of parts.services) {
    for (const pool of POOLS) {
      for (const { index, target } of s.pools[pool].targets) {
        const why = selfTarget(target, listeners, localAddresses);
        if (why !== null)
          problems.push({ path: `services[${s.index}].${pool}.targets[${index}]`, message: `is ${why}` });
      }
    }
  }
  return problems;
}

export function crossChecks(parts: ConfigParts, localAddresses: ReadonlySet<string>): Problem[] {
  return [
    ...duplicateNames(parts.services),
    ...dockerReferences(parts.services, parts.docker.endpoints),
    ...identicalRoutes(parts.services),
    ...selfTargets(parts, localAddresses),
  ];
}
