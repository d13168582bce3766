// Which names veer orders certificates for: the `acme.hosts` listed, else every exact host the
// services match (wildcards, "*" and IP literals cannot be proved with HTTP-01, so they are left out).
import { normalizeHost } from '../domain/host.js';

/** Lower case, without port or trailing dot, each once, in the order first named. */
export function acmeHosts(listed: readonly string[] | undefined, serviceHosts: readonly string[]): string[] {
  const source = listed ?? serviceHosts.filter(orderable);
  return [...new Set(source.map(normalizeHost))];
}

function orderable(pattern: string): boolean {
  if (pattern === '*' || pattern.startsWith('*.') || pattern.startsWith('[')) return false;
  const name = normalizeHost(pattern);
  // An IPv4 literal: a CA does not issue for it over HTTP-01 by name.
  return name !== '' && !/^[\d.]+$/.test(name);
}
