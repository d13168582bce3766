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
/**
 * Clients tracked per pool, Space-Saving style: a newcomer takes the place of the client with fewest
 * errors and inherits its count, so any client with more than 1/32 of the errors is always tracked
 * (one that only arrives once the tally is full, say when its bucket joins the canary at a later
 * step, is not shut out), at the price of counting it up to that least count high.
 */
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
  for (const [key, n] of Object.entries(s.clients ?? {})) add(t, key, n);
  const cut = Math.min(s.errors, Math.max(0, Math.floor(excess(t)) - Math.floor(before)));
  if (cut === 0) return s;
  const routes = s.routes === undefined ? {} : { routes: withoutShare(s.routes, cut, s.errors) };
  return { ...s, errors: s.errors - cut, ...routes };
}

/**
 * The per-route tests judge the same errors: the routes give up the cut in proportion to their errors
 * (errors are attributed to clients, not to routes), or one client's errors, all on one path, would
 * roll back through that route's test what the pool's own test no longer sees. Largest remainders
 * take the rounding, so the routes give up exactly `cut` (never one error from each of many).
 */
function withoutShare(routes: Readonly<Record<string, Slice>>, cut: number, errors: number): Record<string, Slice> {
  const entries = Object.entries(routes);
  const exact = entries.map(([, r]) => (r.errors * cut) / errors);
  const taken = exact.map(Math.floor);
  let left =
    Math.min(
      cut,
      entries.reduce((n, [, r]) => n + r.errors, 0),
    ) - taken.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0]);
  for (const [, i] of byRemainder) {
    if (left <= 0) break;
    const r = entries[i]?.[1];
    if (r === undefined || (taken[i] as number) >= r.errors) continue;
    taken[i] = (taken[i] as number) + 1;
    left--;
  }
  const out: Record<string, Slice> = {};
  entries.forEach(([name, r], i) => {
    const t = taken[i] as number;
    out[name] = t === 0 ? r : { ...r, errors: r.errors - t };
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
export function failsOnStableToo(stats: SequentialStats): boolean {
  const all = stats.clients;
  if (all === undefined) return false;
  let [top, most] = ['', 0];
  for (const [key, n] of Object.entries(all.canary.byClient)) if (n > most) [top, most] = [key, n];
  // Only errors seen for it count: not what it inherited on taking an evicted client's place.
  const seen = (all.stable.byClient[top] ?? 0) - (all.stable.inherited?.[top] ?? 0);
  return most > 0 && seen > CLIENT_ALLOWANCE;
}
