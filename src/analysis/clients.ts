// No one client may supply most of the evidence. A client whose requests fail on any version (a broken
// integration, a bot sending bad requests) and whose sticky bucket pins it to the canary would
// otherwise roll back exactly the rollouts its bucket lands in. Per pool the judge keeps each client's
// errors over the rollout; whatever one client has beyond a quarter of everyone else's errors (plus a
// few) is left out of the evidence: it can add at most a fifth, never double a pool's rate. Leaving
// errors out only weakens the tests, so the false-alarm bound holds; a regression that hits many
// clients is not touched, since no single client then has most of it. The price: a regression that
// only one client ever meets counts for little, as one client's experience.
// The same for 4xx (judge4xx), tallied apart: a client sending bad requests draws 4xx on any version.
import type { ClientTally, SequentialStats } from '../domain/rollout.js';
import type { Slice } from './judge.js';

/** Errors one client may have beyond DOMINANT_SHARE of everyone else's before the excess is left out. */
export const CLIENT_ALLOWANCE = 2;
const DOMINANT_SHARE = 0.25;
/**
 * Clients tracked per pool, Space-Saving style: a newcomer takes the place of the client with fewest
 * errors and inherits its count, so any client with more than 1/32 of the errors is always tracked
 * (one that only arrives once the tally is full, say when its bucket joins the canary at a later
 * step, is not shut out), at the price of counting it up to that least count high.
 */
const MAX_CLIENTS = 32;

/** What a tally guards: a slice's errors (5xx and failures) or its 4xx. */
export type Guarded = 'errors' | 'clientErrors';
/** Where each is attributed by client, in a slice and in the judge's statistics alike. */
const BY_CLIENT = { errors: 'clients', clientErrors: 'clients4xx' } as const;

function excess(t: ClientTally): number {
  let top = 0;
  for (const n of Object.values(t.byClient)) top = Math.max(top, n);
  return Math.max(0, top - DOMINANT_SHARE * (t.errors - top) - CLIENT_ALLOWANCE);
}

/**
 * Adds a block's errors (and its 4xx, when they are judged) to the pool's tallies; returns the block with
 * the new excess of each left out.
 */
export function withoutDominantClient(
  stats: SequentialStats,
  pool: 'canary' | 'stable',
  s: Slice,
  with4xx = false,
): Slice {
  const out = without(stats, pool, s, 'errors');
  return with4xx ? without(stats, pool, out, 'clientErrors') : out;
}

function without(stats: SequentialStats, pool: 'canary' | 'stable', s: Slice, what: Guarded): Slice {
  const n = s[what] ?? 0;
  if (n === 0) return s;
  const by = BY_CLIENT[what];
  const all = (stats[by] ??= { canary: { errors: 0, byClient: {} }, stable: { errors: 0, byClient: {} } });
  const t = all[pool];
  const before = excess(t);
  t.errors += n;
  for (const [key, k] of Object.entries(s[by] ?? {})) add(t, key, k);
  const cut = Math.min(n, Math.max(0, Math.floor(excess(t)) - Math.floor(before)));
  if (cut === 0) return s;
  t.left = (t.left ?? 0) + cut;
  const routes = s.routes === undefined ? {} : { routes: withoutShare(s.routes, cut, n, what) };
  return { ...s, [what]: n - cut, ...routes };
}

/**
 * The per-route tests judge the same errors: the routes give up the cut in proportion to their errors
 * (errors are attributed to clients, not to routes), or one client's errors, all on one path, would
 * roll back through that route's test what the pool's own test no longer sees. Largest remainders
 * take the rounding, so the routes give up exactly `cut` (never one error from each of many).
 */
function withoutShare(
  routes: Readonly<Record<string, Slice>>,
  cut: number,
  errors: number,
  what: Guarded,
): Record<string, Slice> {
  const entries = Object.entries(routes);
  const of = (r: Slice): number => r[what] ?? 0;
  const exact = entries.map(([, r]) => (of(r) * cut) / errors);
  const taken = exact.map(Math.floor);
  let left =
    Math.min(
      cut,
      entries.reduce((n, [, r]) => n + of(r), 0),
    ) - taken.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0]);
  for (const [, i] of byRemainder) {
    if (left <= 0) break;
    const r = entries[i]?.[1];
    if (r === undefined || (taken[i] as number) >= of(r)) continue;
    taken[i] = (taken[i] as number) + 1;
    left--;
  }
  const out: Record<string, Slice> = {};
  entries.forEach(([name, r], i) => {
    const t = taken[i] as number;
    out[name] = t === 0 ? r : { ...r, [what]: of(r) - t };
  });
  return out;
}

function add(t: ClientTally, key: string, n: number): void {
  const byClient = t.byClient;
  let start = byClient[key] ?? 0;
  if (byClient[key] === undefined && Object.keys(byClient).length >= MAX_CLIENTS) {
    const [smallest, least] = Object.entries(byClient).reduce((a, b) => (b[1] < a[1] ? b : a));
    delete byClient[smallest];
    const inherited = (t.inherited ??= {});
    delete inherited[smallest];
    inherited[key] = least;
    start = least;
  }
  byClient[key] = start + n;
}

/**
 * Whether the client with most errors on the canary failed on stable too (its bucket was there at an
 * earlier step): then it fails on any version, and its errors say nothing about the canary. One that
 * failed only on the canary may be the canary's fault met by its only client.
 */
export function failsOnStableToo(stats: SequentialStats, what: Guarded = 'errors'): boolean {
  const all = stats[BY_CLIENT[what]];
  if (all === undefined) return false;
  let [top, most] = ['', 0];
  for (const [key, n] of Object.entries(all.canary.byClient)) if (n > most) [top, most] = [key, n];
  // Only errors seen for it count: not what it inherited on taking an evicted client's place.
  const seen = (all.stable.byClient[top] ?? 0) - (all.stable.inherited?.[top] ?? 0);
  return most > 0 && seen > CLIENT_ALLOWANCE;
}
