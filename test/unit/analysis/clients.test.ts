import { describe, expect, it } from 'vitest';
import { failsOnStableToo, withoutDominantClient } from '../../../src/analysis/clients.js';
import { emptyStats, judge, type Block, type Slice } from '../../../src/analysis/judge.js';
import { rolloutPolicySchema } from '../../../src/config/schema.js';
import type { Verdict } from '../../../src/domain/rollout.js';
import { BUCKET_COUNT, bucketIndex } from '../../../src/metrics/histogram.js';
import { addHash, hashIncrements } from '../../../src/metrics/second-hash.js';
import { emptyTotals, PoolWindow } from '../../../src/metrics/window.js';

const policy = rolloutPolicySchema.parse({});

/** One second of a pool: `requests` at 3 ms, `errors` of them failed, attributed as `clients` says. */
function second(requests: number, errors: number, clients?: Record<string, number>): Slice {
  const latency = new Array<number>(BUCKET_COUNT).fill(0);
  latency[bucketIndex(3)] = requests;
  return { requests, errors, latency, ...(clients ? { clients } : {}) };
}

/** `looks` analyses of five seconds each; stops at two failures or a pass. */
function run(canary: (i: number) => Slice, stable: (i: number) => Slice, looks = 12): Verdict {
  let [stats, failures, t] = [emptyStats(), 0, 0];
  let verdict: Verdict | null = null;
  for (let look = 0; look < looks; look++) {
    const seconds: Block[] = Array.from({ length: 5 }, () => ({ canary: canary(t), stable: stable(t++) }));
    const sum = (pick: (b: Block) => Slice): Slice => ({
      requests: seconds.reduce((n, b) => n + pick(b).requests, 0),
      errors: seconds.reduce((n, b) => n + pick(b).errors, 0),
      latency: Array.from(pick(seconds[0] as Block).latency, (v) => v * 5),
    });
    const delta = { canary: sum((b) => b.canary), stable: sum((b) => b.stable) };
    const r = judge({ policy, delta, seconds, step: delta, stableRef: delta.stable, stats, now: t * 1000, failures });
    [stats, verdict] = [r.stats, r.verdict];
    if (verdict.result === 'fail') failures++;
    if (failures >= 2) break;
  }
  return verdict as Verdict;
}

describe('one client cannot supply most of the evidence', () => {
  // Stable: 200 req/s at 0.5% errors (one error a second from a different client each time).
  const stable = (t: number): Slice => second(200, 1, { [`s${t}`]: 1 });

  it('a sticky client failing every request on the canary does not fail a healthy canary', () => {
    // The canary's own traffic is like stable's; one client pinned to it fails 3 requests a second.
    const canary = (t: number): Slice =>
      second(103, 3 + (t % 5 === 0 ? 1 : 0), { bad: 3, ...(t % 5 === 0 ? { [`c${t}`]: 1 } : {}) });
    expect(run(canary, stable).result).not.toBe('fail');
    // The same errors from no one in particular are a regression.
    const anonymous = (t: number): Slice => second(103, 3 + (t % 5 === 0 ? 1 : 0));
    expect(run(anonymous, stable).result).toBe('fail');
  });

  it('a regression that many clients meet is still caught', () => {
    const canary = (t: number): Slice =>
      second(100, 5, Object.fromEntries([0, 1, 2, 3, 4].map((k) => [`c${t}-${k}`, 1])));
    expect(run(canary, stable).result).toBe('fail');
  });
});

describe('the guard beyond the pool test', () => {
  it('takes the cut from the routes too, in proportion, exactly the pool cut', () => {
    const stats = emptyStats();
    const base = second(100, 40, { bot: 36, a: 1, b: 1, c: 1, d: 1 });
    const routes = { '/api': { ...second(60, 37), routes: undefined }, '/web': second(40, 3) };
    const out = withoutDominantClient(stats, 'canary', { ...base, routes });
    const cut = 40 - out.errors;
    expect(cut).toBeGreaterThan(30);
    const left = out.routes ?? {};
    expect((left['/api']?.errors ?? 0) + (left['/web']?.errors ?? 0)).toBe(40 - cut);
    expect(left['/api']?.errors).toBeLessThan(37);
    // Many routes with an error each: the cut is shared out, not one error taken from every route.
    const many = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`/r${i}`, second(10, 1)]));
    const small = withoutDominantClient(emptyStats(), 'canary', {
      ...second(100, 10, { bot: 7, a: 1, b: 1, c: 1 }),
      routes: many,
    });
    const removed = 10 - small.errors;
    const routeErrors = Object.values(small.routes ?? {}).reduce((n, r) => n + r.errors, 0);
    expect(routeErrors).toBe(10 - removed);
  });

  it('tracks a client that only starts failing once the tally is full', () => {
    const stats = emptyStats();
    for (let i = 0; i < 32; i++) withoutDominantClient(stats, 'canary', second(100, 2, { [`c${i}`]: 2 }));
    let left = 0;
    for (let t = 0; t < 300; t++) left += withoutDominantClient(stats, 'canary', second(100, 1, { bot: 1 })).errors;
    // The bot's 300 errors are mostly left out, as for a client tracked from the start.
    expect(left).toBeLessThan(120);
    expect(stats.clients?.canary.byClient.bot).toBeGreaterThanOrEqual(300);
  });

  it('a canary whose one sticky client is all its traffic and fails is never promoted', () => {
    // Only the bot reaches the canary, and every one of its requests fails: the tests leave it out
    // (one client cannot roll back), but the promotion's gate counts it.
    let [stats, t] = [emptyStats(), 0];
    const results = new Set<string>();
    for (let look = 0; look < 40; look++) {
      const seconds: Block[] = Array.from({ length: 5 }, () => ({
        canary: second(10, 10, { bot: 10 }),
        stable: second(200, 1, { [`s${t++}`]: 1 }),
      }));
      const delta = { canary: second(50, 50, { bot: 50 }), stable: second(1000, 5) };
      const input = { policy, delta, seconds, step: delta, stableRef: delta.stable, stats, now: t * 1000 };
      const r = judge({ ...input, final: true, canarySoFar: (look + 1) * 50 });
      results.add(r.verdict.result);
      stats = r.stats;
    }
    expect(results).toEqual(new Set(['inconclusive']));
  });
});

describe('the check before promotion and a client that fails on any version', () => {
  it('counts only the stable errors seen for a client, not what it inherited in a full tally', () => {
    const stats = emptyStats();
    for (let t = 0; t < 200; t++) withoutDominantClient(stats, 'stable', second(200, 1, { [`s${t}`]: 1 }));
    withoutDominantClient(stats, 'stable', second(200, 1, { bad: 1 }));
    expect(stats.clients?.stable.byClient.bad).toBeGreaterThan(3);
    for (let t = 0; t < 30; t++) withoutDominantClient(stats, 'canary', second(200, 3, { bad: 3 }));
    expect(failsOnStableToo(stats)).toBe(false);
    for (let t = 0; t < 3; t++) withoutDominantClient(stats, 'stable', second(200, 1, { bad: 1 }));
    expect(failsOnStableToo(stats)).toBe(true);
  });

  it('lets the guard stand for a client that failed on stable too (its bucket was there at an earlier step)', () => {
    const bot = (n: number): Slice => second(n * 10, n, { bot: n });
    const run = (earlierOnStable: boolean): Set<string> => {
      let [stats, t] = [emptyStats(), 0];
      const results = new Set<string>();
      for (let look = 0; look < 30; look++) {
        const onStable = earlierOnStable && look < 10;
        const seconds: Block[] = Array.from({ length: 5 }, () => ({
          canary: onStable ? second(0, 0) : second(50, 1, { bot: 1 }),
          stable: onStable ? { ...bot(1), requests: 200 } : second(200, 1, { [`s${t++}`]: 1 }),
        }));
        const delta = { canary: onStable ? second(0, 0) : second(250, 5), stable: second(1000, 5) };
        const input = { policy, delta, seconds, step: delta, stableRef: delta.stable, stats, now: ++t * 1000 };
        const r = judge({ ...input, final: !onStable, canarySoFar: (look + 1) * 250 });
        if (!onStable) results.add(r.verdict.result);
        stats = r.stats;
      }
      return results;
    };
    expect(run(true)).toContain('pass');
    expect(run(false)).toEqual(new Set(['inconclusive']));
  });
});

describe('client attribution in the window', () => {
  it('attributes errors to their client, ships them through the hash and merges them', () => {
    const at = Date.UTC(2026, 0, 1, 0, 0, 5);
    const w = new PoolWindow({ seconds: 30 });
    w.record(at, 500, 3, 0, 42);
    w.record(at, 502, 3, 0, 42);
    w.recordFailure(at, 'connect', 3, 0, 7);
    w.record(at, 500, 3);
    w.record(at, 200, 3, 0, 42);
    const t = w.totals(at, at);
    expect([t.errors, t.clients]).toEqual([4, { 42: 2, 7: 1 }]);
    const back = emptyTotals();
    addHash(back, Object.fromEntries(hashIncrements(t).map(([f, n]) => [f, String(n)])));
    expect(back.clients).toEqual({ 42: 2, 7: 1 });
    const other = new PoolWindow({ seconds: 30 });
    other.record(at, 500, 3, 0, 42);
    other.mergeSecond({ ...back, sec: at / 1000 });
    expect(other.totals(at, at).clients).toEqual({ 42: 3, 7: 1 });
  });
});
