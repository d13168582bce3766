// From the services' configured state to the routes of a new routing table: each pool's upstreams
// (acquired from the shared set, so their runtime state survives the swap), metric windows,
// sticky and timeout settings, and the health checks the new table needs. dataplane.ts decides when
// a table is rebuilt; this decides what goes into it.
import type { Config, ServiceConfig } from '../config/schema.js';
import { errorMask } from '../domain/grpc-status.js';
import type { PoolName } from '../domain/pool.js';
import type { TargetingRule } from '../domain/targeting.js';
import type { TargetAddress } from '../domain/target.js';
import type { BasisPoints } from '../domain/weight.js';
import type { MetricsRegistry } from '../metrics/registry.js';
import type { RouteGroupSpec } from '../metrics/route-groups.js';
import type { ServicePages } from './pages.js';
import { PENDING_INTERVAL_MS, type HealthPolicy } from './health.js';
import { stickyRuntime, type PoolRuntime, type ServiceRoute } from './table.js';
import type { Targeting } from './targeting.js';
import type { Upstream, UpstreamSet } from './upstream.js';

export interface ServiceState {
  config: ServiceConfig;
  targets: Record<PoolName, readonly TargetAddress[]>;
  weightBp: BasisPoints;
  /** A running rollout's own retryCanaryOnStable; null = the service config's. */
  retryOverride: boolean | null;
  /** A running rollout's targeting rules as written ([]: none), and compiled when they changed (null: none). */
  rules: readonly TargetingRule[];
  targeting: Targeting | null;
  /** The rollout whose canary is routed (null: none). */
  rolloutId: string | null;
  /** Read from the files when the service set was applied. */
  pages: ServicePages;
}

export interface RouteEnv {
  readonly upstreams: UpstreamSet;
  readonly metrics: MetricsRegistry;
  /** The listener-wide timeouts a service's own override falls back to. */
  readonly timeouts: Config['proxy']['timeouts'];
}

export interface BuiltRoutes {
  routes: ServiceRoute[];
  /** Keys of every upstream some route uses; the rest can be released. */
  inUse: Set<string>;
  /** Each health-checked upstream once, with its service's policy. */
  checks: Map<Upstream, HealthPolicy>;
  /** Upstreams of Docker pools: their readiness (a port that accepts connections) is watched. */
  containers: Set<Upstream>;
}

/**
 * A service as configured. What a running rollout set on it (rules, retry policy, its id) carries over from
 * `prev`, and so does the weight unless one is given.
 */
export function configuredState(
  c: ServiceConfig,
  prev: ServiceState | undefined,
  weightBp: BasisPoints | undefined,
  pages: ServicePages,
): ServiceState {
  return {
    config: c,
    targets: { stable: c.stable.targets, canary: c.canary.targets },
    weightBp: weightBp ?? prev?.weightBp ?? c.weight,
    retryOverride: prev?.retryOverride ?? null,
    rules: prev?.rules ?? [],
    targeting: prev?.targeting ?? null,
    rolloutId: prev?.rolloutId ?? null,
    pages,
  };
}

/**
 * `kept`: a service's route from the last table when its state did not change since (undefined: build it).
 * Building a route costs far more than reading one: a change to one service of many rebuilds that one.
 */
export function buildRoutes(
  services: Iterable<ServiceState>,
  env: RouteEnv,
  kept: (name: string) => ServiceRoute | undefined = () => undefined,
): BuiltRoutes {
  const out: BuiltRoutes = { routes: [], inUse: new Set(), checks: new Map(), containers: new Set() };
  for (const s of services) {
    const route = kept(s.config.name) ?? routeFor(s, env);
    out.routes.push(route);
    const { stable, canary } = s.config;
    // A Docker service's canary is containers too (clones of the stable's) unless it lists targets.
    const docker = {
      stable: stable.docker !== undefined,
      canary: canary.docker !== undefined || (stable.docker !== undefined && canary.targets.length === 0),
    };
    const hc = s.config.healthCheck;
    for (const p of [route.stable, route.canary]) {
      for (const u of p.targets) {
        out.inUse.add(u.key);
        if (hc?.enabled && !out.checks.has(u)) out.checks.set(u, hc);
        if (docker[p.name]) out.containers.add(u);
      }
    }
  }
  return out;
}

function routeFor(s: ServiceState, env: RouteEnv): ServiceRoute {
  const c = s.config;
  const t = env.timeouts;
  const own = c.timeouts;
  const overrides = {
    ...(own.connect !== undefined ? { connectTimeout: own.connect } : {}),
    ...(own.upstreamIdle !== undefined ? { idleTimeout: own.upstreamIdle } : {}),
    ...(c.upstream.protocol === 'h2c' ? { protocol: 'h2c' as const } : {}),
  };
  const pool = (name: PoolName): PoolRuntime => ({
    name,
    targets: env.upstreams.acquire(c.name, s.targets[name], overrides),
    window: env.metrics.pool(c.name, name),
  });
  return {
    name: c.name,
    from: c,
    hosts: c.match.hosts,
    pathPrefix: c.match.pathPrefix,
    weightBp: s.weightBp,
    stable: pool('stable'),
    canary: pool('canary'),
    groups: env.metrics.groups(c.name, groupSpec(c)),
    // Route windows cost memory: recorded only while there is a canary to compare with stable.
    byRoute: s.targets.canary.length > 0,
    sticky: c.sticky ? stickyRuntime(c.sticky.cookie, c.sticky.maxAge, c.sticky.secure, c.sticky.sameSite) : null,
    targeting: s.targeting,
    rolloutId: s.rolloutId,
    outlier: c.outlier,
    retryCanaryOnStable: s.retryOverride ?? c.rollout.retryCanaryOnStable,
    maxRequestBody: c.limits.maxRequestBody ?? Infinity,
    timeouts: {
      header: own.header ?? t.header,
      body: own.body ?? t.body,
      waitForTarget: own.waitForTarget ?? t.waitForTarget,
    },
    pages: s.pages,
    grpc: c.upstream.protocol === 'h2c' ? { errorMask: errorMask(c.upstream.grpcErrorCodes) } : null,
  };
}

/** What the judge groups this service's requests by, and what it never judges (the health check's path too). */
function groupSpec(c: ServiceConfig): RouteGroupSpec {
  const hc = c.healthCheck;
  const health = hc?.enabled ? [hc.path.split('?')[0] as string] : [];
  return { routes: c.rollout.routes, excludePaths: [...c.rollout.excludePaths, ...health], base: c.match.pathPrefix };
}

/** How long the slowest health-checked service needs to pass its threshold when its targets answer. */
export function healthSettleMs(services: Iterable<ServiceState>): number {
  let maxMs = 0;
  for (const s of services) {
    const hc = s.config.healthCheck;
    if (hc?.enabled)
      maxMs = Math.max(maxMs, hc.healthyThreshold * (hc.timeout + Math.min(hc.interval, PENDING_INTERVAL_MS)));
  }
  return maxMs;
}
