// Checks that span several fields of the config: unique service names, Docker endpoint references,
// two services claiming the same host and path prefix, static targets that are veer itself. They run
// on the best-effort parts of the raw tree (config-tree.ts), so they are reported together with the
// schema's field errors instead of only once every field is valid.
import type { Problem } from '../domain/errors.js';
import { canonicalHost, familyOf, isLocalhostName, isUnspecifiedIp } from '../domain/loopback.js';
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
export function configuredListeners(parts: Pick<ConfigParts, 'listen' | 'admin' | 'tlsListen'>): Listener[] {
  const out: Listener[] = [];
  if (parts.listen) out.push({ role: 'data-plane', ...parts.listen });
  if (parts.admin) out.push({ role: 'admin', ...parts.admin.listen });
  if (parts.tlsListen) out.push({ role: 'tls', ...parts.tlsListen });
  return out;
}

const LISTENER_KEYS: Record<Listener['role'], string> = {
  'data-plane': 'listen',
  admin: 'admin.listen',
  tls: 'tls.listen',
};

/**
 * Two listeners on one port whose hosts overlap (the same host, or either the wildcard) cannot
 * both bind: the second would fail at start with EADDRINUSE, so validate says so first.
 */
export function listenerClashes(parts: Pick<ConfigParts, 'listen' | 'admin' | 'tlsListen'>): Problem[] {
  const listeners = configuredListeners(parts).filter((l) => l.port !== 0);
  const problems: Problem[] = [];
  for (let i = 0; i < listeners.length; i++) {
    for (let j = i + 1; j < listeners.length; j++) {
      const [a, b] = [listeners[i]!, listeners[j]!];
      if (a.port !== b.port || !hostsOverlap(a.host, b.host)) continue;
      problems.push({
        path: LISTENER_KEYS[b.role],
        message:
          `${b.host}:${b.port} takes the port of ${LISTENER_KEYS[a.role]} (${a.host}:${a.port}); ` +
          'each listener needs its own port or a host of its own',
      });
    }
  }
  return problems;
}

function hostsOverlap(a: string, b: string): boolean {
  const [x, y] = [canonicalHost(a), canonicalHost(b)];
  if (x === y || x === '::' || y === '::') return true; // "::" is dual-stack: it takes IPv4 too
  // 0.0.0.0 takes every IPv4 address (and names, which may resolve to one), never an IPv6 one.
  if (isUnspecifiedIp(x)) return familyOf(y) !== 6;
  if (isUnspecifiedIp(y)) return familyOf(x) !== 6;
  // localhost binds to the first address it resolves to: 127.0.0.1 or ::1, whichever the host lists first.
  if (isLocalhostName(x)) return isLocalhostName(y) || y === '127.0.0.1' || y === '::1';
  if (isLocalhostName(y)) return x === '127.0.0.1' || x === '::1';
  return false;
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
    ...listenerClashes(parts),
  ];
}
