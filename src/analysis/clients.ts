// No one client may supply most of the evidence. A client whose requests fail on any version (a broken
// integration, a bot sending bad requests) and whose sticky bucket pins it to the canary would
// otherwise roll back exactly the rollouts its bucket lands in. Per pool the judge keeps each client's
// errors over the rollout; whatever one client has beyond a quarter of everyone else's errors (plus a
// few) is left out of the evidence: it can add at most a fifth, never double a pool's rate. Leaving
// errors out only weakens the tests, so the false-alarm bound holds; a regression that hits many
// clients is not touched, since no single client then has most of it. The price: a regression that
// only one client ever meets counts for little, as one client's experience.
import type { ClientTally, SequentialStats } from '../domain/rollout.js';
import type { Slice } from './judge.js';

/** Errors one client may have beyond DOMINANT_SHARE of everyone else's before the excess is left out. */
export const CLIENT_ALLOWANCE = 2;
const DOMINANT_SHARE = 0.25;
/** Clients tracked per pool: the ones with most errors stay (a dominant client cannot be evicted). */
const MAX_CLIENTS = 32;

function excess(t: ClientTally): number {
  let top = 0;
  for (const n of Object.values(t.byClient)) top = Math.max(top, n);
  return Math.max(0, top - DOMINANT_SHARE * (t.errors - top) - CLIENT_ALLOWANCE);
}

/** Adds a block's errors to the pool's tally; returns the block with the new excess left out. */
export function withoutDominantClient(stats: SequentialStats, pool: 'canary' | 'stable', s: Slice): Slice {
  if (s.errors === 0) return s;
  const all = (stats.clients ??= { canary: { errors: 0, byClient: {} }, stable: { errors: 0, byClient: {} } });
  const t = all[pool];
  const before = excess(t);
  t.errors += s.errors;
  for (const [key, n] of Object.entries(s.clients ?? {})) add(t.byClient, key, n);
  const cut = Math.min(s.errors, Math.max(0, Math.floor(excess(t)) - Math.floor(before)));
  return cut === 0 ? s : { ...s, errors: s.errors - cut };
}

function add(byClient: Record<string, number>, key: string, n: number): void {
  if (byClient[key] === undefined && Object.keys(byClient).length >= MAX_CLIENTS) {
    const [smallest, least] = Object.entries(byClient).reduce((a, b) => (b[1] < a[1] ? b : a));
    if (least > n) return;
    delete byClient[smallest];
  }
  byClient[key] = (byClient[key] ?? 0) + n;
}
