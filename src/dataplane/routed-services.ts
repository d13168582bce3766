// The services a data plane routes and the routing table built from them. A change to one service builds
// that service's route again and keeps every other route as it was (the same upstreams, windows and
// groups); the table around them is assembled anew and swapped whole. Building a route costs far more than
// reading one: with a thousand services, building every route for one shift held the loop ~100 ms. A change
// that keeps the service's config and upstreams (a weight shift) also keeps the table's compiled hosts and
// builds nothing for the other services, only copies the list: in a worker it took 2-27 ms per shift with a
// thousand services before, 0.4-1 ms after (4-11 ms for the first, cold).
import { buildRoutes, type BuiltRoutes, type RouteEnv, type ServiceState } from './service-routes.js';
import { buildTable, type RoutingTable, type ServiceRoute } from './table.js';

export class RoutedServices {
  private current: RoutingTable = buildTable(0, []);
  private readonly states = new Map<string, ServiceState>();
  /**
   * Services whose route is to be built again, cleared only once a table was built: a build that threw
   * leaves them to the next one, never keeps their old route for good.
   */
  private readonly dirty = new Set<string>();
  /** Inside `batch`: changes wait for its end (a removal changes the table with no service dirty). */
  private batching = false;
  private changed = false;
  /**
   * The next table is built in full: the service set was replaced since the last one (services added, removed
   * or reordered), or the last swap's effects did not all run.
   */
  private fullNext = false;

  constructor(
    private readonly env: RouteEnv,
    /** Runs after every swap, with what the new table uses (null: the same upstreams, checks and containers). */
    private readonly swapped: (built: BuiltRoutes | null) => void,
  ) {}

  get table(): RoutingTable {
    return this.current;
  }

  get(name: string): ServiceState | undefined {
    return this.states.get(name);
  }

  values(): IterableIterator<ServiceState> {
    return this.states.values();
  }

  names(): string[] {
    return [...this.states.keys()];
  }

  /** `name`'s state was changed in place: its route is built again, now or when the batch ends. */
  touched(name: string): void {
    this.dirty.add(name);
    this.changedNow();
  }

  /** The whole service set; a service whose state is another object than before gets a new route. */
  replace(next: ReadonlyMap<string, ServiceState>): void {
    for (const [name, s] of next) if (this.states.get(name) !== s) this.dirty.add(name);
    this.fullNext = true;
    this.states.clear();
    for (const [name, s] of next) this.states.set(name, s);
    this.changedNow();
  }

  /** Some services' new states, the others as they are (none added or removed). */
  put(states: ReadonlyMap<string, ServiceState>): void {
    for (const [name, s] of states) {
      this.states.set(name, s);
      this.dirty.add(name);
    }
    this.changedNow();
  }

  /** A new table now, or when the batch ends. */
  private changedNow(): void {
    this.changed = true;
    if (!this.batching) this.rebuild();
  }

  /**
   * Runs `fn`, whose changes to many services (a start, a reload) swap the table once, when it ends: a swap
   * per service would cost the square of the service count.
   */
  batch(fn: () => void): void {
    if (this.batching) return fn();
    this.batching = true;
    try {
      fn();
    } finally {
      this.batching = false;
      if (this.changed) this.rebuild();
    }
  }

  private rebuild(): void {
    const quick = this.fullNext ? null : this.quickRoutes();
    const kept = (name: string) => (this.dirty.has(name) ? undefined : this.current.routes.get(name));
    const built = quick === null ? buildRoutes(this.states.values(), this.env, kept) : null;
    this.current = buildTable(this.current.version + 1, quick ?? (built as BuiltRoutes).routes, this.current);
    this.dirty.clear();
    this.changed = false;
    // Until the swap's effects (release, probes) have run: one that throws leaves the next build a full one.
    this.fullNext = true;
    this.swapped(built);
    this.fullNext = false;
  }

  /**
   * The routes when the changed services kept their config and every upstream (a weight shift, a rollout's
   * rules or id): the others' routes as they were, in their places, and nothing to release or to probe anew.
   * Null when that does not hold (the whole list is built, each unchanged route kept).
   */
  private quickRoutes(): ServiceRoute[] | null {
    const fresh: ServiceState[] = [];
    for (const name of this.dirty) {
      const s = this.states.get(name);
      if (s === undefined || this.current.routes.get(name)?.from !== s.config) return null;
      fresh.push(s);
    }
    const rebuilt = new Map<string, ServiceRoute>();
    for (const r of buildRoutes(fresh, this.env).routes) {
      const old = this.current.routes.get(r.name);
      if (old === undefined || !sameUpstreams(old, r)) return null;
      rebuilt.set(r.name, r);
    }
    return this.current.list.map((r) => rebuilt.get(r.name) ?? r);
  }
}

function sameUpstreams(a: ServiceRoute, b: ServiceRoute): boolean {
  const same = (x: readonly unknown[], y: readonly unknown[]) => x.length === y.length && x.every((u, i) => u === y[i]);
  return same(a.stable.targets, b.stable.targets) && same(a.canary.targets, b.canary.targets);
}
