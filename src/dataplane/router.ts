// Host + longest-path-prefix routing. Compiled once per routing table so a lookup is a couple of
// Map reads and a short scan of the prefixes registered for that host, most specific first.
import { normalizeHost } from '../domain/host.js';

export { normalizeHost };

export interface RouteSpec<T> {
  hosts: readonly string[];
  pathPrefix: string;
  value: T;
}

interface PrefixEntry<T> {
  prefix: string;
  value: T;
}

export interface Router<T> {
  lookup(hostHeader: string | undefined, url: string): T | undefined;
}

export function compileRouter<T>(routes: readonly RouteSpec<T>[]): Router<T> {
  const exact = new Map<string, PrefixEntry<T>[]>();
  const wildcard = new Map<string, PrefixEntry<T>[]>(); // key ".example.com"
  const any: PrefixEntry<T>[] = [];
  for (const r of routes) {
    for (const raw of r.hosts) {
      const h = normalizeHost(raw);
      const entry = { prefix: r.pathPrefix, value: r.value };
      if (h === '*') any.push(entry);
      else if (h.startsWith('*.')) pushTo(wildcard, h.slice(1), entry);
      else pushTo(exact, h, entry);
    }
  }
  for (const list of [...exact.values(), ...wildcard.values(), any])
    list.sort((a, b) => b.prefix.length - a.prefix.length);
  const wildcardLevels = wildcard.size > 0;

  return {
    lookup(hostHeader, url) {
      const host = hostHeader === undefined ? '' : normalizeHost(hostHeader);
      const path = pathOf(url);
      let hit = matchPrefix(exact.get(host), path);
      if (hit !== undefined) return hit;
      if (wildcardLevels) {
        // Most specific suffix first: a.b.example.com tries .b.example.com, then .example.com, ...
        for (let dot = host.indexOf('.'); dot !== -1; dot = host.indexOf('.', dot + 1)) {
          hit = matchPrefix(wildcard.get(host.slice(dot)), path);
          if (hit !== undefined) return hit;
        }
      }
      return matchPrefix(any, path);
    },
  };
}

function pushTo<T>(m: Map<string, PrefixEntry<T>[]>, key: string, e: PrefixEntry<T>): void {
  const list = m.get(key);
  if (list) list.push(e);
  else m.set(key, [e]);
}

function matchPrefix<T>(list: PrefixEntry<T>[] | undefined, path: string): T | undefined {
  if (list === undefined) return undefined;
  for (const e of list) if (prefixMatches(e.prefix, path)) return e.value;
  return undefined;
}

/** "/api" matches "/api", "/api/x" but not "/apix": prefixes match on segment boundaries. */
export function prefixMatches(prefix: string, path: string): boolean {
  if (!path.startsWith(prefix)) return false;
  if (path.length === prefix.length || prefix.endsWith('/')) return true;
  return path.charCodeAt(prefix.length) === 47; /* '/' */
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** "http://host:port/p?q" → { authority: "host:port", path: "/p?q" }; null when not absolute-form. */
export function splitAbsoluteForm(url: string): { authority: string; path: string } | null {
  const scheme = url.indexOf('://');
  if (scheme <= 0) return null;
  const from = scheme + 3;
  let end = url.length;
  for (let i = from; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 /* / */ || c === 63 /* ? */) {
      end = i;
      break;
    }
  }
  const rest = url.slice(end);
  return { authority: url.slice(from, end), path: rest.startsWith('/') ? rest : `/${rest}` };
}
