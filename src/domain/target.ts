// An upstream address. `id` ("host:port") is the identity used across routing-table swaps so a
// target's runtime state (connections, outstanding count, ejection) survives a weight change.
import { isIPv4, isIPv6 } from 'node:net';
import { canonicalHost, isUnspecifiedIp } from './loopback.js';

export interface TargetAddress {
  readonly host: string;
  readonly port: number;
  readonly id: string;
}

const HOST_PORT = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/;
/**
 * A label: letters, digits and inner hyphens, at most 63 characters, and underscores, which DNS names may
 * not carry but container names resolved by Docker's DNS and /etc/hosts do (`backend_1`).
 */
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
/** A label that URL parsers and getaddrinfo read as (part of) an IPv4 address: decimal, or 0x hex. */
const NUMERIC_LABEL = /^(?:0x[0-9a-f]*|[0-9]+)$/i;

/**
 * Why `host` is no host to connect to, or null. Each address has one spelling: a name whose last label is a
 * number is read as IPv4 by URL parsers and getaddrinfo alike (`127.1`, `2130706433` and `0x7f000001` all
 * connect to 127.0.0.1), so only the dotted quad is taken, and a check on the address (is it veer itself?)
 * cannot be passed by another spelling of it. `unspecified`: 0.0.0.0 and :: are taken (a listener's host).
 */
export function hostProblem(host: string, bracketed: boolean, unspecified = false): string | null {
  if (bracketed) {
    if (!isIPv6(host)) return 'expected an IPv6 address between [ ]';
  } else {
    if (host === '') return 'the host is empty';
    const name = host.endsWith('.') ? host.slice(0, -1) : host;
    const labels = name.split('.');
    if (NUMERIC_LABEL.test(labels[labels.length - 1] ?? '')) {
      if (!isIPv4(host)) return 'an IPv4 address is written as four decimal numbers 0–255 (a.b.c.d)';
    } else if (name.length > 253 || !labels.every((l) => LABEL.test(l)))
      return 'expected a host name (letters, digits, hyphens and underscores between dots) or an IP address';
  }
  if (!unspecified && isUnspecifiedIp(host))
    return `${bracketed ? `[${host}]` : host} means every local address, not one to connect to`;
  return null;
}

export function parseTarget(s: unknown): { ok: true; target: TargetAddress } | { ok: false; message: string } {
  if (typeof s !== 'string') return { ok: false, message: 'expected a "host:port" string' };
  const m = HOST_PORT.exec(s.trim());
  if (!m) return { ok: false, message: `expected "host:port", got "${s}"` };
  const bracketed = m[1] !== undefined;
  const host = m[1] ?? m[2] ?? '';
  const why = hostProblem(host, bracketed);
  if (why !== null) return { ok: false, message: `${why}, got "${s}"` };
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return { ok: false, message: `port must be 1–65535, got ${port}` };
  const id = bracketed ? `[${host}]:${port}` : `${host}:${port}`;
  return { ok: true, target: { host, port, id } };
}

/** What veer stored before its host rules were strict: any name or bracketed literal, with a port. */
const STORED = /^(?:\[([^\]]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/;

/**
 * A target read back from the store (a rollout record, Docker membership): taken as it was written, not held
 * to the rules of new input (parseTarget), so a record an older veer wrote still routes after an upgrade
 * (a succeeded rollout's canary targets are the stable pool).
 */
export function readStoredTarget(s: string): TargetAddress | null {
  const m = STORED.exec(s.trim());
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535) return null;
  const host = m[1] ?? m[2] ?? '';
  return { host, port, id: m[1] !== undefined ? `[${host}]:${port}` : `${host}:${port}` };
}

/** One key per address however it is spelled (case, IPv6 compression, brackets): for "is it the same target?". */
export function targetKey(id: string): string {
  const t = readStoredTarget(id);
  return t === null ? id.trim().toLowerCase() : `${canonicalHost(t.host)}:${t.port}`;
}
