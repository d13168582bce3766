// The one-client guard covers 4xx as it covers errors (judge4xx): a client drawing 4xx on any version (a
// bot, a broken integration sending bad requests) and pinned to the canary by its sticky bucket neither
// rolls it back nor gets it promoted, while 4xx that many clients meet are still a regression.
import { describe, expect, it } from 'vitest';
import { failsOnStableToo, withoutDominantClient } from '../../../src/analysis/clients.js';
import { cloneStats } from '../../../src/analysis/stats.js';
import { emptyStats, judge, type Block, type Slice } from '../../../src/analysis/judge.js';
import { rolloutPolicySchema } from '../../../src/config/schema.js';
import type { SequentialStats, Verdict } from '../../../src/domain/rollout.js';
import { BUCKET_COUNT, bucketIndex } from '../../../src/metrics/histogram.js';
import { addHash, hashIncrements } from '../../../src/metrics/second-hash.js';
import { emptyTotals, PoolWindow } from '../../../src/metrics/window.js';

const policy = rolloutPolicySchema.parse({ judge4xx: true });

/** One second of a pool: `requests` at 3 ms, `n4xx` of them 4xx, attributed as `clients4xx` says. */
function second(requests: number, n4xx: number, clients4xx?: Record<string, number>): Slice {
  const latency = new Array<number>(BUCKET_COUNT).fill(0);
  latency[bucketIndex(3)] = requests;
  return { requests, errors: 0, clientErrors: n4xx, latency, ...(clients4xx ? { clients4xx } : {}) };
}

type Pool = (t: number) => Slice;

/** Analyses of five seconds each until two failures in a row, `looks` of them at most; every verdict. */
function run(canary: Pool, stable: Pool, opts: { looks?: number; final?: boolean } = {}): Verdict[] {
  let [stats, failures, t] = [emptyStats(), 0, 0];
  const verdicts: Verdict[] = [];
  for (let look = 0; look < (opts.looks ?? 12); look++) {
    const seconds: Block[] = Array.from({ length: 5 }, () => ({ canary: canary(t), stable: stable(t++) }));
    const sum = (pick: (b: Block) => Slice): Slice => ({
      requests: seconds.reduce((n, b) => n + pick(b).requests, 0),
      errors: 0,
      latency: Array.from(pick(seconds[0] as Block).latency, (v) => v * 5),
    });
    const delta = { canary: sum((b) => b.canary), stable: sum((b) => b.stable) };
    const input = { policy, delta, seconds, step: delta, stableRef: delta.stable, stats, now: t * 1000, failures };
    const r = judge({ ...input, final: opts.final ?? false, canarySoFar: (look + 1) * delta.canary.requests });
    stats = r.stats;
    verdicts.push(r.verdict);
    failures = r.verdict.result === 'fail' ? failures + 1 : 0;
    if (failures >= 2) break;
  }
  return verdicts;
}

const last = (vs: Verdict[]): Verdict => vs[vs.length - 1] as Verdict;
const check4xx = (v: Verdict) => v.checks.find((c) => c.name === 'client-errors-vs-stable');

// Stable: 200 req/s, one 4xx a second (0.5%), from a different client each time.
const stable: Pool = (t) => second(200, 1, { [`s${t}`]: 1 });
// The canary's own traffic answers 4xx as stable does (0.5%): one every other second, each a new client.
const own = (t: number): Record<string, number> => (t % 2 === 0 ? { [`c${t}`]: 1 } : {});

describe('a client that draws 4xx on any version, pinned to the canary', () => {
  it('does not fail the 4xx test, while the same 4xx from no one in particular do', () => {
    const bot: Pool = (t) => second(100, 3 + (t % 2 === 0 ? 1 : 0), { bot: 3, ...own(t) });
    const verdicts = run(bot, stable);
    expect(verdicts.map((v) => v.result)).not.toContain('fail');
    expect(check4xx(last(verdicts))?.status).toBe('pass');
    const anonymous: Pool = (t) => second(100, 3 + (t % 2 === 0 ? 1 : 0));
    expect(last(run(anonymous, stable)).result).toBe('fail');
    expect(last(run(anonymous, stable)).reason).toMatch(/4xx rate/);
  });

  it('still fails a canary whose 4xx many clients meet', () => {
    const many: Pool = (t) => second(100, 4, Object.fromEntries([0, 1, 2, 3].map((k) => [`c${t}-${k}`, 1])));
    const v = last(run(many, stable));
    expect(v.result).toBe('fail');
    expect(check4xx(v)?.status).toBe('fail');
  });

  it('is not left out when the policy does not judge 4xx (no tally is kept)', () => {
    const stats = emptyStats();
    const s = second(100, 40, { bot: 40 });
    expect(withoutDominantClient(stats, 'canary', s)).toBe(s);
    expect(stats.clients4xx).toBeUndefined();
  });
});

describe('the 4xx cut, slice by slice', () => {
  it('takes the 4xx excess from the pool and its routes alike, errors untouched', () => {
    const stats = emptyStats();
    const routes = { '/api': second(60, 37), '/web': second(40, 3) };
    const s = { ...second(100, 40, { bot: 36, a: 1, b: 1, c: 1, d: 1 }), errors: 2, clients: { e: 1, f: 1 }, routes };
    const out = withoutDominantClient(stats, 'canary', s, true);
    const cut = 40 - (out.clientErrors ?? 0);
    expect(cut).toBeGreaterThan(30);
    expect(out.errors).toBe(2);
    const left = Object.values(out.routes ?? {}).reduce((n, r) => n + (r.clientErrors ?? 0), 0);
    expect(left).toBe(40 - cut);
    expect(stats.clients4xx?.canary).toMatchObject({ errors: 40, left: cut });
    // The errors' own tally is another: the 4xx did not go into it.
    expect(stats.clients?.canary.errors).toBe(2);
  });

  it('reads a rollout record of an older version (no 4xx tally, no `left`) and goes on', () => {
    const old = JSON.parse(
      JSON.stringify({
        ...emptyStats(),
        clients: { canary: { errors: 3, byClient: { x: 3 } }, stable: { errors: 0 } },
      }),
    ) as SequentialStats;
    (old.clients as NonNullable<SequentialStats['clients']>).stable.byClient = {};
    const stats = cloneStats(old);
    expect(stats.clients4xx).toBeUndefined();
    const out = withoutDominantClient(stats, 'canary', second(100, 40, { bot: 40 }), true);
    expect(out.clientErrors).toBeLessThan(40);
    expect(failsOnStableToo(stats, 'clientErrors')).toBe(false);
    // A record holding the tally survives the copy the judge makes of it.
    expect(cloneStats(stats).clients4xx).toEqual(stats.clients4xx);
    const r = judge({
      policy,
      delta: { canary: second(100, 40), stable: second(200, 1) },
      step: { canary: second(100, 40), stable: second(200, 1) },
      stableRef: second(200, 1),
      stats: old,
      now: 1000,
    });
    expect(r.stats.clients4xx?.canary.errors).toBe(40);
  });
});

describe('before promotion', () => {
  // Only the bot reaches the canary, and every one of its requests is answered 404.
  const onlyBot: Pool = () => second(10, 10, { bot: 10 });

  it('a canary whose one sticky client is all its traffic and gets 4xx is never promoted', () => {
    const verdicts = run(onlyBot, stable, { looks: 40, final: true });
    expect(new Set(verdicts.map((v) => v.result))).toEqual(new Set(['inconclusive']));
    expect(last(verdicts).reason).toMatch(/^before promotion: canary 4xx rate over the rollout/);
  });

  it('lets the guard stand for a client that drew 4xx on stable too (its bucket was there at an earlier step)', () => {
    // The bot's first 10 looks are on stable, where it draws 4xx too; then its bucket moves to the canary.
    const looks = (t: number): boolean => t < 50;
    const canary: Pool = (t) => (looks(t) ? second(0, 0) : onlyBot(t));
    const stableToo: Pool = (t) => (looks(t) ? second(210, 11, { bot: 10, [`s${t}`]: 1 }) : stable(t));
    const verdicts = run(canary, stableToo, { looks: 40, final: true }).slice(10);
    expect(verdicts.map((v) => v.result)).toContain('pass');
    expect(verdicts.map((v) => v.result)).not.toContain('fail');
  });
});

describe('4xx by client in the window', () => {
  it('attributes 4xx apart from errors, ships them through the hash and merges them', () => {
    const at = Date.UTC(2026, 0, 1, 0, 0, 5);
    const w = new PoolWindow({ seconds: 30 });
    w.record(at, 404, 3, 0, 42);
    w.record(at, 400, 3, 0, 42);
    w.record(at, 429, 3, 0, 7);
    w.record(at, 503, 3, 0, 42);
    w.record(at, 404, 3);
    w.record(at, 200, 3, 0, 9);
    const t = w.totals(at, at);
    expect([t.clientErrors, t.clients4xx, t.errors, t.clients]).toEqual([4, { 42: 2, 7: 1 }, 1, { 42: 1 }]);
    const hash = Object.fromEntries(hashIncrements(t).map(([f, n]) => [f, String(n)]));
    expect(hash).toMatchObject({ y42: '2', y7: '1', x42: '1' });
    const back = emptyTotals();
    addHash(back, hash);
    expect([back.clients4xx, back.clients]).toEqual([{ 42: 2, 7: 1 }, { 42: 1 }]);
    const other = new PoolWindow({ seconds: 30 });
    other.record(at, 404, 3, 0, 42);
    other.mergeSecond({ ...back, sec: at / 1000 });
    expect(other.totals(at, at).clients4xx).toEqual({ 42: 3, 7: 1 });
    // A second of an older replica has none: nothing is attributed, nothing fails.
    const { clients4xx: _none, ...older } = back;
    expect(new PoolWindow({ seconds: 30 }).mergeSecond({ ...older, sec: at / 1000 })).toBe('merged');
  });
});
