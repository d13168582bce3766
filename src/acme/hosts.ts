// Which names veer orders certificates for: the `acme.hosts` listed, else every exact host the
// services match that a CA issues for by name. Orders carry DNS identifiers proved with http-01 or
// tls-alpn-01, so a wildcard (dns-01 only), "*", an IP literal, a single label ("localhost", "web":
// public CAs refuse them) or a name that breaks the DNS label rules is never ordered.
import { isIP } from 'node:net';
import { normalizeHost } from '../domain/host.js';

/** Lower case, without port or trailing dot, each once, in the order first named. */
export function acmeHosts(listed: readonly string[] | undefined, serviceHosts: readonly string[]): string[] {
  const source = listed ?? serviceHosts.filter(orderable);
  return [...new Set(source.map(normalizeHost))];
}

/** The services' host patterns left out of the default (all but "*", which names no host), each once. */
export function unorderable(serviceHosts: readonly string[]): string[] {
  return [...new Set(serviceHosts.filter((h) => h !== '*' && !orderable(h)))];
}

function orderable(pattern: string): boolean {
  return !pattern.startsWith('[') && dnsNameProblem(normalizeHost(pattern)) === null;
}

/**
 * Why `name` (one trailing dot allowed) cannot be ordered as a DNS identifier, or null: RFC 1035 labels
 * of 1–63 letters, digits and inner hyphens, 253 characters in all, two labels at least, the last not all
 * digits.
 */
export function dnsNameProblem(name: string): string | null {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  if (n === '*' || n.startsWith('*.')) return 'not a wildcard (http-01 and tls-alpn-01 cannot prove one)';
  if (isIP(n.replace(/^\[(.*)\]$/, '$1')) !== 0) return 'not an IP address (veer orders DNS names)';
  if (/:\d*$/.test(n)) return 'without a port';
  if (n.length > 253) return 'at most 253 characters';
  const labels = n.split('.');
  if (labels.length < 2) return 'two labels or more (a CA does not issue for a single label)';
  for (const label of labels) {
    if (label === '') return 'no empty label';
    if (label.length > 63) return `labels of at most 63 characters ("${label.slice(0, 16)}…" has ${label.length})`;
    if (!/^[A-Za-z0-9-]+$/.test(label)) return `only letters, digits and "-" in a label ("${label}")`;
    if (label.startsWith('-') || label.endsWith('-')) return `no "-" at the start or end of a label ("${label}")`;
  }
  // A name ending in digits only ("1.2.3", "10.0.0.1.2") is no host name: no top-level domain is numeric
  // (RFC 3696 §2), and a resolver may read it as an address.
  if (/^[0-9]+$/.test(labels[labels.length - 1] as string)) return 'a last label that is not all digits';
  return null;
}
