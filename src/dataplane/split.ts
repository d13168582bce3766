// Which pool serves a request. Pure: randomness is injected.
//
// Sticky mode mints a cookie holding a random bucket in [0, 10000). A client is in the canary iff
// bucket < weight (in basis points), so raising the weight only ever moves clients from stable to
// canary (monotonic), and at weight 0 nobody is in the canary.
import type { PoolName } from '../domain/pool.js';
import { MAX_BP, type BasisPoints } from '../domain/weight.js';
import type { Random } from '../domain/clock.js';

export interface SplitDecision {
  pool: PoolName;
  /** Set when a new sticky bucket was minted and must be sent as a cookie. */
  mintedBucket: number | undefined;
}

export function choosePool(
  weightBp: BasisPoints,
  override: PoolName | undefined,
  stickyBucket: number | undefined,
  sticky: boolean,
  random: Random,
): SplitDecision {
  if (override !== undefined) return { pool: override, mintedBucket: undefined };
  if (!sticky) {
    if (weightBp <= 0) return { pool: 'stable', mintedBucket: undefined };
    if (weightBp >= MAX_BP) return { pool: 'canary', mintedBucket: undefined };
    return { pool: random() * MAX_BP < weightBp ? 'canary' : 'stable', mintedBucket: undefined };
  }
  const minted = stickyBucket === undefined ? Math.floor(random() * MAX_BP) : undefined;
  const bucket = stickyBucket ?? (minted as number);
  return { pool: bucket < weightBp ? 'canary' : 'stable', mintedBucket: minted };
}

/** Finds `name=<bucket>` in a Cookie header; undefined when absent or not a valid bucket. */
export function readStickyBucket(cookieHeader: string | undefined, namePrefix: string): number | undefined {
  if (cookieHeader === undefined) return undefined;
  let i = cookieHeader.indexOf(namePrefix);
  while (i !== -1) {
    // The match must start a cookie pair, not sit inside another cookie's name.
    if (i === 0 || cookieHeader.charCodeAt(i - 1) === 32 || cookieHeader.charCodeAt(i - 1) === 59) {
      return parseBucket(cookieHeader, i + namePrefix.length);
    }
    i = cookieHeader.indexOf(namePrefix, i + 1);
  }
  return undefined;
}

function parseBucket(s: string, start: number): number | undefined {
  let n = 0;
  let i = start;
  for (; i < s.length && i - start < 6; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
  }
  if (i === start) return undefined;
  const end = i === s.length || s.charCodeAt(i) === 59 || s.charCodeAt(i) === 32;
  return end && n < MAX_BP ? n : undefined;
}

export function parseOverride(value: string | string[] | undefined): PoolName | undefined {
  if (value === 'canary' || value === 'stable') return value;
  return undefined;
}
