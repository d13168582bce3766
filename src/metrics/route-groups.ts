// A service's requests grouped by path, so the judge compares like with like: a long-poll route is
// slow on both pools, and mixing it into one pool-wide p99 makes that p99 depend on which pool drew the
// long-polls. Groups are named path prefixes: the ones a policy lists (longest prefix wins), or, by
// default, each request path's first segment below the service's own prefix, the first
// MAX_AUTO_GROUPS of them as they are seen (the rest share OTHER, so a path full of ids cannot grow
// the set). Excluded paths (health checks by default) are proxied and counted in Prometheus but never
// judged. classify() runs on every request: no allocation beyond one slice, one Map lookup.

/** Not judged at all (a health check, or a path the policy excludes). */
export const EXCLUDED = -1;
/** The group of the paths no listed prefix (or no auto slot) covers. */
export const OTHER = '*';
/** Auto groups per service, OTHER not counted: each costs two route windows while a canary runs. */
export const MAX_AUTO_GROUPS = 8;

export interface RouteGroupSpec {
  /** 'auto', or path prefixes ('/api', '/api/v2', …). */
  routes: 'auto' | readonly string[];
  excludePaths: readonly string[];
  /** The service's match prefix: auto groups are the first segment below it. */
  base: string;
}

/** `prefix` covers `path` (query and fragment already cut) on a segment boundary. */
export function coversPath(prefix: string, path: string): boolean {
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || prefix.endsWith('/') || path.charCodeAt(prefix.length) === 47;
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * A request's group code (PoolWindow.record's `group`) is its group's index + 1 plus its groups' epoch times
 * this: a request classified before a reload changed the groups ends after it, and its index would name another
 * group (or none) of the new ones. Above any group count (32 prefixes and OTHER at most).
 */
const EPOCH_SPAN = 1024;
let epochs = 0;

export class RouteGroups {
  /** Group names by index (OTHER included once used). */
  readonly names: string[] = [];
  /** Tells these groups' codes from those of the groups before and after them. */
  private readonly epoch = ++epochs;
  private readonly byName = new Map<string, number>();
  /** Explicit prefixes, longest first, with their group index. */
  private readonly prefixes: Array<[string, number]> = [];
  private readonly base: string;

  constructor(readonly spec: RouteGroupSpec) {
    this.base = spec.base === '/' ? '' : spec.base.replace(/\/+$/, '');
    if (spec.routes !== 'auto') {
      const sorted = [...new Set(spec.routes)].sort((a, b) => b.length - a.length);
      for (const p of sorted) this.prefixes.push([p, this.indexOf(p)]);
    }
  }

  /** A key that changes whenever classification would: the registry keeps groups with the same key. */
  static keyOf(spec: RouteGroupSpec): string {
    return JSON.stringify([spec.routes, spec.excludePaths, spec.base]);
  }

  /** A request target (origin form) that is never judged. */
  excluded(url: string): boolean {
    return this.spec.excludePaths.length > 0 && this.excludedPath(pathOf(url));
  }

  /** The group of a request target (origin form), or EXCLUDED. */
  classify(url: string): number {
    const path = pathOf(url);
    if (this.excludedPath(path)) return EXCLUDED;
    if (this.spec.routes !== 'auto') {
      for (const [prefix, i] of this.prefixes) if (coversPath(prefix, path)) return i;
      return this.indexOf(OTHER);
    }
    const from = path.startsWith(this.base) ? this.base.length : 0;
    const end = path.indexOf('/', from + 1);
    const name = this.base + (end < 0 ? path.slice(from) : path.slice(from, end));
    return this.indexOf(name === '' ? '/' : name);
  }

  private excludedPath(path: string): boolean {
    for (const ex of this.spec.excludePaths) if (coversPath(ex, path)) return true;
    return false;
  }

  /** The code of a request that `classify` put in group `i`: what the data plane records it under. */
  code(i: number): number {
    return this.epoch * EPOCH_SPAN + i + 1;
  }

  /** The group a code names, or -1 when other groups (before a reload) classified that request. */
  groupOfCode(code: number): number {
    return Math.floor(code / EPOCH_SPAN) === this.epoch ? (code % EPOCH_SPAN) - 1 : -1;
  }

  /** The index of a group name (another replica's, when merging): known, a new auto slot, or OTHER. */
  indexOf(name: string): number {
    const known = this.byName.get(name);
    if (known !== undefined) return known;
    const auto = this.spec.routes === 'auto';
    const full = this.names.length - (this.byName.has(OTHER) ? 1 : 0) >= MAX_AUTO_GROUPS;
    if (name !== OTHER && (auto ? full : !this.spec.routes.includes(name))) return this.indexOf(OTHER);
    this.byName.set(name, this.names.length);
    this.names.push(name);
    return this.names.length - 1;
  }
}
