// Routes that can never match, as warnings: the config is valid, but part of it does nothing. The
// rules are the data plane's: hosts compare lower-case without port or trailing dot; within a host
// the longest prefix wins and, for equal prefixes, the earlier service; request paths arrive
// normalized (no dot-segments, unreserved characters decoded) and without query or fragment.
import type { Problem } from '../domain/errors.js';
import { normalizeHost } from '../domain/host.js';
import type { ServiceParts } from './config-tree.js';

/** The host as the router keys it: the router's own rule. */
export const routingHostKey = normalizeHost;

const UNRESERVED_ESCAPE = /%(4[1-9a-f]|5[0-9a]|6[1-9a-f]|7[0-9a]|3[0-9]|2d|2e|5f|7e)/i;
const NORMALIZED = 'can never match: request paths are normalized before routing';
const REFUSED = 'can never match: the data plane refuses request paths';

/** A "." or ".." segment, also with path parameters (";x") or between encoded slashes: never routed. */
function hasDotSegment(prefix: string): boolean {
  return prefix
    .toLowerCase()
    .split(/\/|%2f|%5c/)
    .some((seg) => /^\.\.?(;.*)?$/.test(seg));
}

/** Why a request path can never start with `prefix` (null when it can). */
export function unreachablePrefix(prefix: string): string | null {
  if (/[?#]/.test(prefix))
    return 'can never match: the query ("?") is split off before routing and a fragment ("#") is never sent';
  if (/[\s\x00-\x1f\x7f]/.test(prefix))
    return 'can never match: a request path cannot contain spaces or control characters';
  if (prefix.includes('\\')) return `${REFUSED} with a backslash`;
  if (/%(?![0-9a-f]{2})/i.test(prefix)) return `${REFUSED} with a "%" not followed by two hex digits`;
  const escape = UNRESERVED_ESCAPE.exec(prefix);
  if (escape) {
    const ch = String.fromCharCode(parseInt(escape[1] as string, 16));
    return `${NORMALIZED}, so "${escape[0]}" arrives as "${ch}": write "${ch}" itself`;
  }
  if (hasDotSegment(prefix)) return `${NORMALIZED}, so a "." or ".." segment never reaches it`;
  return null;
}

interface Owner {
  service: ServiceParts;
  host: string;
}

interface Shadow {
  hostIndex: number;
  host: string;
  owner: Owner;
  /** Spelled the same (case aside): already a config error, no warning needed. */
  identical: boolean;
}

const label = (s: ServiceParts): string => `${s.name === null ? 'service' : `"${s.name}"`} (services[${s.index}])`;

/** `whole`: no host of the service is its own, so it never receives a request at all. */
function shadowWarnings(s: ServiceParts, prefix: string, shadows: readonly Shadow[], whole: boolean): Problem[] {
  const toWarn = shadows.filter((x) => !x.identical);
  if (toWarn.length === 0) return [];
  if (whole) {
    const owners = [...new Set(shadows.map((x) => label(x.owner.service)))].join(', ');
    return [
      {
        path: `services[${s.index}].match`,
        message:
          `${label(s)} never receives a request: ${owners} comes first with the same hosts and path prefix ` +
          `"${prefix}" (routing ignores case, a port and a trailing dot)`,
      },
    ];
  }
  return toWarn.map((x) => ({
    path: `services[${s.index}].match.hosts[${x.hostIndex}]`,
    message:
      `never reaches ${label(s)}: routing ignores case, a port and a trailing dot, so "${x.host}" is the host ` +
      `"${x.owner.host}" of ${label(x.owner.service)}, which comes first with the same path prefix "${prefix}"`,
  }));
}

export function routeWarnings(services: readonly ServiceParts[]): Problem[] {
  const owners = new Map<string, Owner>();
  const warnings: Problem[] = [];
  for (const s of services) {
    if (s.match === null) continue;
    const { hosts, pathPrefix } = s.match;
    const unreachable = unreachablePrefix(pathPrefix);
    if (unreachable !== null) {
      warnings.push({ path: `services[${s.index}].match.pathPrefix`, message: unreachable });
      continue;
    }
    const shadows: Shadow[] = [];
    const own = new Set<string>();
    hosts.forEach((host, hostIndex) => {
      const key = `${routingHostKey(host)}\n${pathPrefix}`;
      const owner = owners.get(key);
      if (owner === undefined) owners.set(key, { service: s, host });
      else if (owner.service !== s)
        shadows.push({ hostIndex, host, owner, identical: owner.host.toLowerCase() === host.toLowerCase() });
      if (owner === undefined || owner.service === s) own.add(key);
    });
    warnings.push(...shadowWarnings(s, pathPrefix, shadows, own.size === 0));
  }
  return warnings;
}
