// The services a data plane routes and the routing table built from them. A change to one service builds
// that service's route again and keeps every other route as it was (the same upstreams, windows and
// groups); the table around them is assembled anew and swapped whole. Building a route costs far more than
// reading one: with a thousand services, building every route for one shift held the loop ~100 ms.
import { buildRoutes, type BuiltRoutes, type RouteEnv, type ServiceState } from './service-routes.js';
import { buildTable, type RoutingTable } from './table.js';

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

  constructor(
    private readonly env: RouteEnv,
    /** Runs after every swap, with what the new table uses. */
    private readonly swapped: (built: BuiltRoutes) => void,
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
    const kept = (name: string) => (this.dirty.has(name) ? undefined : this.current.routes.get(name));
    const built = buildRoutes(this.states.values(), this.env, kept);
    this.current = buildTable(this.current.version + 1, built.routes);
    this.dirty.clear();
    this.changed = false;
    this.swapped(built);
  }
}
