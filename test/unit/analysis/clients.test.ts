import { describe, expect, it } from 'vitest';
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
