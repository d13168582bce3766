// Which pool serves one request of a route: the override header, else the sticky bucket, else a
// random draw against the weight; a pool with no targets at all hands its share to the other. Shared
// by plain requests and upgrades so both split the same way.
import type { IncomingHttpHeaders } from 'node:http';
import type { Random } from '../domain/clock.js';
import type { PoolName } from '../domain/pool.js';
import { choosePool, parseOverride, readStickyBucket } from './split.js';
import type { PoolRuntime, ServiceRoute } from './table.js';

export interface PoolChoice {
  pool: PoolRuntime;
  /** A newly minted sticky bucket the response must set as a cookie. */
  mintedBucket: number | undefined;
}

export function choosePoolFor(route: ServiceRoute, headers: IncomingHttpHeaders, overrideHeader: string | null, random: Random): PoolChoice {
  const override = overrideHeader === null ? undefined : parseOverride(headers[overrideHeader]);
  const sticky = route.sticky;
  const bucket = sticky === null ? undefined : readStickyBucket(headers.cookie, sticky.namePrefix);
  const decision = choosePool(route.weightBp, override, bucket, sticky !== null, random);
  return { pool: usablePool(route, decision.pool), mintedBucket: decision.mintedBucket };
}

function usablePool(route: ServiceRoute, name: PoolName): PoolRuntime {
  const chosen = name === 'canary' ? route.canary : route.stable;
  if (chosen.targets.length > 0) return chosen;
  const other = name === 'canary' ? route.stable : route.canary;
  return other.targets.length > 0 ? other : chosen;
}
