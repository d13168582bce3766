// Which pool and target serve one request of a route: the override header (from allowed peers
// only), else a running rollout's targeting rules (a match goes to the canary), else the sticky
// bucket, else a random draw against the weight. A forced or targeted request neither reads nor
// mints the sticky cookie, so the client's bucket for the weighted split stays as it was, and it
// takes no draw, so the others are split as if it had not come. A pool with no eligible target
// (none at all, or none healthy and not ejected) hands its share to the other pool, the canary only
// while its weight is above 0; with neither, nobody is served. Shared by plain requests and upgrades
// so both split the same way.
import type { IncomingHttpHeaders } from 'node:http';
import type { Random } from '../domain/clock.js';
import type { PoolName } from '../domain/pool.js';
import { MAX_BP } from '../domain/weight.js';
import { pickTarget } from './balancer.js';
import { choosePool, parseOverride, readStickyBucket } from './split.js';
import type { PoolRuntime, RoutingTable, ServiceRoute } from './table.js';
import { isTargeted } from './targeting.js';
import type { Upstream } from './upstream.js';

export interface PoolChoice {
  pool: PoolRuntime;
  /** A newly minted sticky bucket the response must set as a cookie. */
  mintedBucket: number | undefined;
  /** The client's sticky bucket (read or minted): who it is, for the judge. */
  bucket: number | undefined;
  /** The pool was asked for (the override header) or targeted, not drawn. */
  forced: boolean;
}

/** The pool a client asks for with the override header, if it may ask (its peer is allowed). */
export function overrideOf(
  headers: IncomingHttpHeaders,
  header: string | null,
  peer: string,
  allowed: (ip: string) => boolean,
): PoolName | undefined {
  if (header === null) return undefined;
  const value = headers[header];
  if (value === undefined || !allowed(peer)) return undefined;
  return parseOverride(value);
}

/** `url`: the request target as routed (its query string is what query rules look at). */
export function choosePoolFor(
  route: ServiceRoute,
  override: PoolName | undefined,
  headers: IncomingHttpHeaders,
  url: string,
  random: Random,
): PoolChoice {
  const t = route.targeting;
  const forced = override ?? (t !== null && isTargeted(t, headers, url) ? 'canary' : undefined);
  const sticky = route.sticky;
  const bucket =
    sticky === null || forced !== undefined ? undefined : readStickyBucket(headers.cookie, sticky.namePrefix);
  const decision = choosePool(route.weightBp, forced, bucket, sticky !== null, random);
  const pool = decision.pool === 'canary' ? route.canary : route.stable;
  return {
    pool,
    mintedBucket: decision.mintedBucket,
    bucket: bucket ?? decision.mintedBucket,
    forced: forced !== undefined,
  };
}

/**
 * The sticky cookie the answer sets: a newly minted bucket, or the client's own again while the service is
 * split (0 < weight < 100), so a cookie cannot expire in the middle of a rollout (its Max-Age counted from
 * the first visit) and draw its client again, maybe into the other pool. A sticky cookie minted over TLS is
 * always Secure: it must not leak onto a plain connection.
 */
export function stickyCookieFor(route: ServiceRoute, choice: PoolChoice, encrypted: boolean): string | null {
  const sticky = route.sticky;
  if (sticky === null || choice.bucket === undefined) return null;
  const split = route.weightBp > 0 && route.weightBp < MAX_BP;
  if (choice.mintedBucket === undefined && !split) return null;
  const secure = encrypted && !sticky.attributes.endsWith('; Secure') ? '; Secure' : '';
  return `${sticky.namePrefix}${choice.bucket}${sticky.attributes}${secure}`;
}

export type Pick = { pool: PoolRuntime; target: Upstream } | { pool: null; why: 'no_targets' | 'no_healthy_targets' };

/** A target in `pool`, else in the route's other pool; `exclude` is a target that just failed. */
export function pickIn(route: ServiceRoute, pool: PoolRuntime, now: number, random: Random, exclude?: Upstream): Pick {
  const target = pickTarget(pool.targets, now, random, exclude);
  if (target !== undefined) return { pool, target };
  const other = pool === route.canary ? route.stable : route.canary;
  // At weight 0 nobody may reach the canary unasked (before the first step, a blue-green preview, a
  // beforeTraffic gate not passed yet, a rollout ended): stable's share stays stable's, unserved if need be.
  const closed = other === route.canary && route.weightBp <= 0;
  const fallback = closed ? undefined : pickTarget(other.targets, now, random, exclude);
  if (fallback !== undefined) return { pool: other, target: fallback };
  const targets = pool.targets.length + (closed ? 0 : other.targets.length);
  return { pool: null, why: targets === 0 ? 'no_targets' : 'no_healthy_targets' };
}

/** For a request that waited: its service's route in the table of now and a target there (null: service gone). */
export function pickNow(
  table: RoutingTable,
  service: string,
  pool: PoolName,
  now: number,
  random: Random,
): { route: ServiceRoute; pick: Pick } | null {
  const route = table.routes.get(service);
  if (route === undefined) return null;
  // A target that refused before is not excluded: it is out until it answers again (readiness.ts),
  // and a container recreated on a fixed host port comes back at the same address.
  return { route, pick: pickIn(route, pool === 'canary' ? route.canary : route.stable, now, random) };
}
