// Is an upstream target veer itself? A canary aimed at veer's own data plane loops every request
// back into veer; one aimed at its admin listener serves the admin API to anyone who reaches the
// data plane. Both are refused, in the config and in a rollout request alike.
import { hostname, networkInterfaces } from 'node:os';
import { assertNever } from './errors.js';
import { canonicalHost, familyOf, isLocalhostName, isLoopbackIp, isUnspecifiedIp } from './loopback.js';
import type { TargetAddress } from './target.js';

export type ListenerRole = 'data-plane' | 'admin' | 'tls';

/** A listener as bound (or as configured, before binding). Port 0 means "not known yet". */
export interface Listener {
  role: ListenerRole;
  host: string;
  port: number;
}

type Scope = 'wildcard' | 'loopback' | 'specific';

function scopeOf(host: string): Scope {
  if (isUnspecifiedIp(host)) return 'wildcard';
  if (isLoopbackIp(host) || isLocalhostName(host)) return 'loopback';
  return 'specific';
}

/** Every way a client on this machine names "this machine" on a listener's family. */
function loopbackTarget(target: string, family: 0 | 4 | 6): boolean {
  if (isLocalhostName(target) || isUnspecifiedIp(target)) return true;
  if (!isLoopbackIp(target)) return false;
  return family === 0 || familyOf(target) === family;
}

/**
 * Whether a connection to `target` lands on `listener`. Deliberately errs towards "yes" where the
 * outcome depends on name resolution (localhost may be 127.0.0.1 or ::1): refusing a rollout is
 * cheap, a loop or an exposed admin API is not.
 */
export function reaches(listener: Listener, target: TargetAddress, localAddresses: ReadonlySet<string>): boolean {
  if (listener.port === 0 || target.port !== listener.port) return false;
  const t = canonicalHost(target.host);
  const l = canonicalHost(listener.host);
  if (t === l) return true;
  const scope = scopeOf(l);
  switch (scope) {
    case 'wildcard':
      // A dual-stack "::" or "0.0.0.0" takes every local address, loopback included.
      return loopbackTarget(t, 0) || localAddresses.has(t);
    case 'loopback':
      return loopbackTarget(t, familyOf(l));
    case 'specific':
      return false;
    default:
      return assertNever(scope, 'listener scope');
  }
}

export function describeListener(l: Listener): string {
  const host = canonicalHost(l.host) || '0.0.0.0';
  const shown = host.includes(':') ? `[${host}]` : host;
  switch (l.role) {
    case 'data-plane':
      return `veer's own data-plane listener ${shown}:${l.port}: traffic would loop`;
    case 'admin':
      return `veer's own admin listener ${shown}:${l.port}: the data plane would serve the admin API`;
    case 'tls':
      return `veer's own TLS listener ${shown}:${l.port}: traffic would loop`;
    default:
      return assertNever(l.role, 'listener role');
  }
}

/** Null when `target` is not veer; else why it is (for "… is <description>"). */
export function selfTarget(
  target: TargetAddress,
  listeners: readonly Listener[],
  localAddresses: ReadonlySet<string>,
): string | null {
  const hit = listeners.find((l) => reaches(l, target, localAddresses));
  return hit ? describeListener(hit) : null;
}

/** Canonical spellings of this machine's addresses and names, for `selfTarget`. */
export function localAddressSet(addresses: Iterable<string>): ReadonlySet<string> {
  const out = new Set<string>();
  for (const a of addresses) out.add(canonicalHost(a.replace(/%.*$/, '')));
  return out;
}

/** This machine's interface addresses and host name (a local read, no lookup). Read per use: interfaces come and go. */
export function hostAddresses(): ReadonlySet<string> {
  const all: string[] = [hostname()];
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) all.push(i.address);
  return localAddressSet(all);
}
