// The routing table: an immutable snapshot swapped whole. A request reads `current` once and
// uses only that snapshot, so a concurrent weight change can never split one request's view.
import type { ServiceConfig } from '../config/schema.js';
import type { ServicePages } from './pages.js';
import type { PoolName } from '../domain/pool.js';
import type { BasisPoints } from '../domain/weight.js';
import { EXCLUDED, type RouteGroups } from '../metrics/route-groups.js';
import { POOL_ONLY, type PoolWindow } from '../metrics/window.js';
import type { OutlierPolicy } from './balancer.js';
import { compileRouter, type Router } from './router.js';
import type { Targeting } from './targeting.js';
import type { GrpcRoute } from './grpc-call.js';
import type { Upstream } from './upstream.js';

export interface PoolRuntime {
  readonly name: PoolName;
  readonly targets: readonly Upstream[];
  readonly window: PoolWindow;
}

export interface StickyRuntime {
  /** "cookie=" for the cookie scan. */
  readonly namePrefix: string;
  /** Attributes after the value: "; Path=/; Max-Age=…; HttpOnly; SameSite=Lax". */
  readonly attributes: string;
}

export interface ServiceRoute {
  readonly name: string;
  /** The config it was built from: a change that keeps it and the upstreams keeps every other route as is. */
  readonly from: ServiceConfig;
  readonly hosts: readonly string[];
  readonly pathPrefix: string;
  readonly weightBp: BasisPoints;
  readonly stable: PoolRuntime;
  readonly canary: PoolRuntime;
  /** How the judge groups this service's paths (and which it never judges). */
  readonly groups: RouteGroups;
  /** Record each request's route group too (a canary is routed). */
  readonly byRoute: boolean;
  readonly sticky: StickyRuntime | null;
  /** A running rollout's targeting rules: a matching request goes to the canary (null: none). */
  readonly targeting: Targeting | null;
  /** The rollout whose canary is routed (access lines name it); null: none is. */
  readonly rolloutId: string | null;
  readonly outlier: OutlierPolicy;
  /** A canary failure on an idempotent request is retried once on stable (the failure still counts). */
  readonly retryCanaryOnStable: boolean;
  /** Request bodies larger than this are refused 413 (Infinity: no limit). */
  readonly maxRequestBody: number;
  /**
   * Upstream time to response headers; longest gap between body chunks, either way; how long a
   * request waits for a target when there is none it may use; ms.
   */
  readonly timeouts: { readonly header: number; readonly body: number; readonly waitForTarget: number };
  /** Error and maintenance pages, and the maintenance bounds. */
  readonly pages: ServicePages;
  /** An h2c service: gRPC calls to it are judged by grpc-status, trailers pass through (null: HTTP/1.1). */
  readonly grpc: GrpcRoute | null;
}

export interface RoutingTable {
  readonly version: number;
  readonly routes: ReadonlyMap<string, ServiceRoute>;
  readonly router: Router<ServiceRoute>;
  /** The routes in the order the router's places were compiled in. */
  readonly list: readonly ServiceRoute[];
  /** Host and path to a place in `list`: kept from table to table while no route's hosts or prefix change. */
  readonly places: Router<number>;
}

/** Which judged windows a request to `url` goes to (PoolWindow.record's `group`). */
export function judgedGroup(route: ServiceRoute, url: string): number {
  if (!route.byRoute) return route.groups.excluded(url) ? EXCLUDED : POOL_ONLY;
  const g = route.groups.classify(url);
  return g === EXCLUDED ? EXCLUDED : route.groups.code(g);
}

/**
 * The table for `routes`. With `prev`, its compiled places are kept when every route sits where it did with the
 * same hosts and path prefix (a weight shift, a rollout's step): compiling a thousand services' hosts was most
 * of a shift's cost in a worker.
 */
export function buildTable(version: number, routes: readonly ServiceRoute[], prev?: RoutingTable): RoutingTable {
  const places =
    prev !== undefined && samePlaces(prev.list, routes)
      ? prev.places
      : compileRouter(routes.map((r, i) => ({ hosts: r.hosts, pathPrefix: r.pathPrefix, value: i })));
  const byName = new Map<string, ServiceRoute>();
  for (const r of routes) byName.set(r.name, r);
  const lookup = (host: string | undefined, url: string): ServiceRoute | undefined => {
    const i = places.lookup(host, url);
    return i === undefined ? undefined : routes[i];
  };
  return { version, routes: byName, router: { lookup }, list: routes, places };
}

function samePlaces(a: readonly ServiceRoute[], b: readonly ServiceRoute[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i] as ServiceRoute, b[i] as ServiceRoute];
    if (x.pathPrefix !== y.pathPrefix || !sameHosts(x.hosts, y.hosts)) return false;
  }
  return true;
}

function sameHosts(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  return a.length === b.length && a.every((h, i) => h === b[i]);
}

export function stickyRuntime(cookie: string, maxAgeMs: number, secure: boolean, sameSite: string): StickyRuntime {
  const same = sameSite.charAt(0).toUpperCase() + sameSite.slice(1);
  return {
    namePrefix: `${cookie}=`,
    attributes:
      `; Path=/; Max-Age=${Math.floor(maxAgeMs / 1000)}; HttpOnly; SameSite=${same}` + (secure ? '; Secure' : ''),
  };
}
