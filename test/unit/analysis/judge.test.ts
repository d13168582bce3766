import { describe, expect, it } from 'vitest';
import { emptyStats, judge, type JudgeInput, type Slice } from '../../../src/analysis/judge.js';
import { rolloutPolicySchema } from '../../../src/config/schema.js';
import { seededRandom, type Random } from '../../../src/domain/clock.js';
import type { CheckName, CheckStatus, RolloutPolicy, SequentialStats, Verdict } from '../../../src/domain/rollout.js';
import { BUCKET_COUNT, bucketIndex, bucketLowerBoundMs, bucketUpperBoundMs } from '../../../src/metrics/histogram.js';

const policy: RolloutPolicy = rolloutPolicySchema.parse({});

function hist(samples: ReadonlyArray<readonly [ms: number, count: number]>): number[] {
  const h = new Array<number>(BUCKET_COUNT).fill(0);
  for (const [ms, n] of samples) h[bucketIndex(ms)] = (h[bucketIndex(ms)] as number) + n;
  return h;
}

/** `requests` requests, `errors` of them failed, all at `ms` unless a latency mix is given. */
function slice(
  requests: number,
  errors: number,
  latency: ReadonlyArray<readonly [number, number]> = [[5, requests]],
): Slice {
  return { requests, errors, latency: hist(latency) };
}

function add(a: Slice, b: Slice): Slice {
  const latency = Array.from({ length: BUCKET_COUNT }, (_, i) => (a.latency[i] as number) + (b.latency[i] as number));
  return { requests: a.requests + b.requests, errors: a.errors + b.errors, latency };
}

const EMPTY: Slice = slice(0, 0, []);

/**
 * A look covers this many seconds, the slice spread evenly over them: the judge caps what one second
 * adds to the evidence (a failure rests on at least four seconds), so a look of 5 s can fail alone.
 */
const SECONDS = 5;

function spread(x: Slice, k: number): Slice[] {
  const part = (v: number, i: number): number => Math.floor(v / k) + (i < v % k ? 1 : 0);
  return Array.from({ length: k }, (_, i) => ({
    requests: part(x.requests, i),
    errors: part(x.errors, i),
    latency: Array.from(x.latency, (v) => part(v, i)),
  }));
}

function blocks(canary: Slice, stable: Slice): JudgeInput['seconds'] {
  const [c, st] = [spread(canary, SECONDS), spread(stable, SECONDS)];
  return c.map((cs, i) => ({ canary: cs, stable: st[i] as Slice }));
}

/** One analysis whose step window is exactly this interval (the first look of a step). */
function firstLook(
  canary: Slice,
  stable: Slice,
  over: Partial<JudgeInput> = {},
): { verdict: Verdict; stats: SequentialStats } {
  return judge({
    policy,
    delta: { canary, stable },
    seconds: blocks(canary, stable),
    step: { canary, stable },
    stableRef: stable,
    stats: emptyStats(),
    now: 1_000,
    ...over,
  });
}

/** Runs `looks` analyses of identical intervals, the step window growing, stats carried over. */
function looks(n: number, canary: Slice, stable: Slice): Verdict[] {
  let stats = emptyStats();
  let step = { canary: EMPTY, stable: EMPTY };
  let ref = EMPTY;
  const out: Verdict[] = [];
  for (let i = 0; i < n; i++) {
    step = { canary: add(step.canary, canary), stable: add(step.stable, stable) };
    ref = add(ref, stable);
    const r = judge({
      policy,
      delta: { canary, stable },
      seconds: blocks(canary, stable),
      step,
      stableRef: ref,
      stats,
      now: (i + 1) * SECONDS * 1000,
    });
    stats = r.stats;
    out.push(r.verdict);
  }
  return out;
}

const status = (v: Verdict, name: CheckName): CheckStatus | undefined => v.checks.find((c) => c.name === name)?.status;
const check = (v: Verdict, name: CheckName) => {
  const c = v.checks.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no check ${name}`);
  return c;
};

describe('judge: small-count error statistics', () => {
  it('1 error in 20 canary requests does not fail (not significant, and too little data)', () => {
    const { verdict } = firstLook(slice(20, 1), slice(380, 0));
    expect(verdict.result).toBe('inconclusive');
    expect(verdict.failFast).toBe(false);
    expect(verdict.reason).toBe('not enough data: canary served 20 of 200 requests so far');
    expect(check(verdict, 'error-rate').pValue).toBeGreaterThan(0.01);
    expect(check(verdict, 'error-rate-vs-stable').pValue).toBeGreaterThan(0.01);
    expect(verdict.checks.map((c) => c.status)).toEqual([
      'inconclusive',
      'inconclusive',
      'inconclusive',
      'inconclusive',
      'inconclusive',
    ]);
  });

  it('10 errors in 40 canary requests over 5 s fails on both error checks, not fast', () => {
    const { verdict } = firstLook(slice(40, 10), slice(760, 0));
    expect(verdict.result).toBe('fail');
    expect(status(verdict, 'error-rate')).toBe('fail');
    expect(status(verdict, 'error-rate-vs-stable')).toBe('fail');
    expect(status(verdict, 'latency')).toBe('pass');
    expect(status(verdict, 'latency-vs-stable')).toBe('pass');
    // Each second adds at most 2/7 of log(1/α) to an error test: five seconds reach α^(10/7), never α² (fail-fast).
    const pv = check(verdict, 'error-rate').pValue;
    expect(pv).toBeLessThanOrEqual(0.01);
    expect(pv).toBeGreaterThan(1e-4);
    expect(verdict.failFast).toBe(false);
    expect(verdict.reason).toContain('canary error rate 25.00% exceeds maxErrorRate 1.00%');
    expect(verdict.reason).toContain("canary error rate 25.00% is higher than stable's (limit 0.25%");
  });

  it('a burst in one or two seconds never fails: each second adds at most 2/7 of what a failure needs', () => {
    const burst = [slice(40, 40), slice(40, 40), slice(40, 0), slice(40, 0), slice(40, 0)];
    const r = judge({
      policy,
      delta: { canary: slice(200, 80), stable: slice(3800, 19) },
      seconds: burst.map((canary) => ({ canary, stable: slice(760, 4) })),
      step: { canary: slice(200, 80), stable: slice(3800, 19) },
      stableRef: slice(3800, 19),
      stats: emptyStats(),
      now: 5_000,
    });
    expect(r.verdict.result).not.toBe('fail');
    expect(check(r.verdict, 'error-rate').pValue).toBeGreaterThan(0.01);
  });

  it('a blatant error failure rests on four seconds, never three, though a second falls short of the cap', () => {
    // A 20%-error canary at 15 requests per second: 3 errors a second on average, 2 in one of them.
    const perSecond = (errors: readonly number[], over: Partial<JudgeInput> = {}) => {
      const seconds = errors.map((e) => ({ canary: slice(15, e), stable: slice(285, 0) }));
      const canary = slice(
        15 * errors.length,
        errors.reduce((a, b) => a + b, 0),
      );
      const stable = slice(285 * errors.length, 0);
      return judge({
        policy,
        delta: { canary, stable },
        seconds,
        step: { canary, stable },
        stableRef: stable,
        stats: emptyStats(),
        now: errors.length * 1000,
        ...over,
      });
    };
    const three = perSecond([3, 4, 3]);
    expect(three.verdict.result).not.toBe('fail');
    expect(check(three.verdict, 'error-rate').pValue).toBeGreaterThan(0.01);
    const four = perSecond([3, 3, 2, 4]);
    expect(four.verdict.result).toBe('fail');
    expect(four.verdict.failFast).toBe(false);
    // Confirmed at √α on two seconds of its own, never on one.
    const again = { stats: four.stats, failures: 1 };
    expect(perSecond([3], again).verdict.result).not.toBe('fail');
    expect(perSecond([2, 4], again).verdict.result).toBe('fail');
  });

  it('after a failure the next one is confirmed at √α on data gathered since', () => {
    const first = firstLook(slice(40, 10), slice(760, 0));
    // 4 of 40 in 5 s: p ≈ 0.04 on its own: not a first failure, but it confirms one (≤ √α = 0.1).
    const alone = firstLook(slice(40, 4), slice(760, 4)).verdict;
    expect(alone.result).not.toBe('fail');
    const confirmed = firstLook(slice(40, 4), slice(760, 4), { stats: first.stats, failures: 1, now: 9_000 }).verdict;
    expect(confirmed.result).toBe('fail');
  });

  it('a failed analysis restarts the tests: the next failure rests on new data only', () => {
    const first = firstLook(slice(40, 10), slice(760, 0));
    expect(first.verdict.result).toBe('fail');
    expect(first.stats.pNow.errorAbs).toBe(1);
    expect(first.stats.errorAbs.every((v) => v === 0)).toBe(true);
    // Healthy data since: no failure, though the canary failed before.
    const next = firstLook(slice(40, 0), slice(760, 4), { stats: first.stats, now: 3_000 });
    expect(next.verdict.result).not.toBe('fail');
    expect(next.verdict.failFast).toBe(false);
  });

  it('a 20%-error canary at 5% of 300 req/s fails on its first 5 s look', () => {
    // 1,500 requests per look: 75 to the canary (15 errors), 1,425 to a healthy stable (5 errors).
    const verdict = looks(1, slice(75, 15), slice(1425, 5))[0] as Verdict;
    expect(verdict.result).toBe('fail');
    expect(verdict.failFast).toBe(false);
    expect(status(verdict, 'error-rate')).toBe('fail');
    expect(status(verdict, 'error-rate-vs-stable')).toBe('fail');
    expect(check(verdict, 'error-rate').pValue).toBeLessThanOrEqual(0.01);
    expect(verdict.reason).toMatch(/^canary error rate 20\.00% exceeds maxErrorRate 1\.00% \(p=/);
  });

  it('holds when a confidence bound (not the point estimate) breaks a limit, not yet significantly', () => {
    // 2 of 200 (1%) against a 1% limit and stable's 0.5% + 0.25 pp: noise; its 90% lower bound is 0.42%.
    const quiet = firstLook(slice(200, 2), slice(3800, 19)).verdict;
    expect(quiet.result, quiet.reason).toBe('pass');
    // 3 of 200 (1.5%): an 80% bound (0.93%) would hold it; the 90% bound errors are held on is 0.73%.
    const few = firstLook(slice(200, 3), slice(3800, 19)).verdict;
    expect(few.result, few.reason).toBe('pass');
    // 8 of 400 (2%): the lower bound (1.28%) is over stable's 0.5% + 0.25 pp, the test not yet sure.
    const { verdict } = firstLook(slice(400, 8), slice(7600, 38));
    expect(verdict.result).toBe('inconclusive');
    expect(verdict.reason).toMatch(
      /^canary error rate 2\.00% \(90% lower bound 1\.28%\) over stable 0\.50% \+ 0\.25%, not yet significant$/,
    );
  });
});

describe('judge: platform-wide incidents', () => {
  it('with no stable traffic (no control group) the relative checks are skipped, never judged on history', () => {
    // Both pools were at 0.5% earlier; now the canary takes everything and an incident puts it at 3%.
    const earlier = firstLook(slice(200, 1), slice(3800, 19));
    const { verdict } = firstLook(slice(4000, 120), EMPTY, { stats: earlier.stats, now: 9_000 });
    expect(status(verdict, 'error-rate-vs-stable')).toBe('skipped');
    expect(status(verdict, 'latency-vs-stable')).toBe('skipped');
    expect(status(verdict, 'median-vs-stable')).toBe('skipped');
    expect(check(verdict, 'error-rate-vs-stable').note).toBe(
      'no stable traffic this step: no control group to compare with',
    );
  });

  it('stable and canary both at 20% errors: never fail, hold and name the stable pool', () => {
    const verdicts = looks(10, slice(30, 6), slice(570, 114));
    for (const v of verdicts) {
      expect(v.result).toBe('inconclusive');
      expect(v.failFast).toBe(false);
      expect(v.reason).toBe('stable pool error rate 20.00% is over the limit 1.00%: holding, not blaming the canary');
    }
    const last = verdicts[9] as Verdict;
    expect(check(last, 'error-rate').pValue).toBe(1);
    expect(check(last, 'error-rate-vs-stable').pValue).toBe(1);
  });

  it('during an incident a canary far worse than stable is still caught by the relative check', () => {
    const { verdict } = firstLook(slice(30, 24), slice(570, 57)); // 80% vs 10%
    expect(verdict.result).toBe('fail');
    expect(status(verdict, 'error-rate')).toBe('pass'); // absolute evidence is suspended
    expect(check(verdict, 'error-rate').note).toBe('stable is over the limit too: not blamed on the canary');
    expect(status(verdict, 'error-rate-vs-stable')).toBe('fail');
  });
});

describe('judge: sample size', () => {
  it('trickle traffic (5 canary requests per look) is inconclusive, "not enough data", on every look', () => {
    const verdicts = looks(15, slice(5, 0), slice(95, 0));
    verdicts.forEach((v, i) => {
      expect(v.result).toBe('inconclusive');
      expect(v.reason).toBe(`not enough data: canary served ${5 * (i + 1)} of 200 requests so far`);
      expect(v.canary.requests).toBe(5 * (i + 1));
    });
  });

  it('a healthy canary with ≥ minRequests in the step passes', () => {
    const { verdict } = firstLook(slice(200, 1), slice(3800, 19));
    expect(verdict.result).toBe('pass');
    expect(verdict.failFast).toBe(false);
    expect(verdict.reason).toBe('canary within every limit');
    expect(verdict.checks.map((c) => c.status)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass']);
  });

  it('passes after enough healthy looks accumulate minRequests, not before', () => {
    const verdicts = looks(8, slice(30, 0), slice(570, 2));
    expect(verdicts.map((v) => v.result)).toEqual([
      'inconclusive',
      'inconclusive',
      'inconclusive',
      'inconclusive',
      'inconclusive',
      'inconclusive',
      'pass',
      'pass',
    ]);
  });
});

describe('judge: latency', () => {
  it('canary +300 ms against a ~5 ms stable fails latency-vs-stable (and not the absolute limit)', () => {
    const { verdict } = firstLook(slice(30, 0, [[305, 30]]), slice(570, 0, [[5, 570]]));
    expect(verdict.result).toBe('fail');
    expect(status(verdict, 'latency-vs-stable')).toBe('fail');
    expect(status(verdict, 'latency')).toBe('pass');
    expect(status(verdict, 'error-rate')).toBe('pass');
    const c = check(verdict, 'latency-vs-stable');
    // 1.5 × stable's p99, but never less than stable's + minLatencyIncreaseMs (10 ms).
    expect(c.limit).toBeCloseTo(Math.max(verdict.stable.p99Ms * 1.5, verdict.stable.p99Ms + 10), 9);
    expect(c.observed).toBe(verdict.canary.p99Ms);
    expect(verdict.canary.p99Ms).toBeGreaterThan(290);
    expect(verdict.failFast).toBe(false);
    expect(verdict.reason).toContain('exceeds stable p99 × ratio');
  });

  it('canary p99 over maxP99Ms fails the latency check', () => {
    // Stable at 600 ms (p99 limit ×1.5 = ~900 ms), canary at 850 ms: only the absolute limit is crossed.
    const { verdict } = firstLook(slice(200, 0, [[850, 200]]), slice(3800, 0, [[600, 3800]]));
    expect(verdict.result).toBe('fail');
    expect(status(verdict, 'latency')).toBe('fail');
    expect(status(verdict, 'latency-vs-stable')).toBe('pass');
    expect(check(verdict, 'latency').limit).toBe(800);
    expect(verdict.reason).toMatch(/^canary p99 8\d\d\.\dms exceeds maxP99Ms 800\.0ms/);
  });

  it('skips latency-vs-stable while stable has fewer than 100 recent requests', () => {
    const { verdict } = firstLook(slice(20, 0), slice(99, 0));
    const c = check(verdict, 'latency-vs-stable');
    expect(c.status).toBe('skipped');
    expect(c.limit).toBeNull();
  });
});

describe('judge: evidence and purity', () => {
  it('fills the evidence: requests, errors, rates, p99 per pool, p-values, time', () => {
    const canary = slice(30, 6);
    const stable = slice(570, 3);
    const { verdict } = firstLook(canary, stable, { now: 42_000 });
    const b = bucketIndex(5);
    const lo = bucketLowerBoundMs(b);
    const hi = bucketUpperBoundMs(b);
    // Nearest rank of p99: 30th of 30 and 565th of 570, interpolated at the middle of its share.
    expect(verdict.canary).toEqual({
      requests: 30,
      errors: 6,
      errorRate: 0.2,
      p99Ms: expect.closeTo(lo + (hi - lo) * (29.5 / 30), 9),
      p50Ms: expect.closeTo(lo + (hi - lo) * (14.5 / 30), 9),
    });
    expect(verdict.stable).toEqual({
      requests: 570,
      errors: 3,
      errorRate: 3 / 570,
      p99Ms: expect.closeTo(lo + (hi - lo) * (564.5 / 570), 9),
      p50Ms: expect.closeTo(lo + (hi - lo) * (284.5 / 570), 9),
    });
    expect(verdict.at).toBe(42_000);
    const err = check(verdict, 'error-rate');
    expect(err.observed).toBe(0.2);
    expect(err.limit).toBe(0.01);
    expect(err.pValue).toBeGreaterThan(0);
    expect(err.pValue).toBeLessThanOrEqual(0.01);
    expect(check(verdict, 'error-rate-vs-stable').limit).toBeCloseTo(3 / 570 + 0.0025, 12);
    expect(check(verdict, 'latency').pValue).toBe(1);
  });

  it('does not mutate the statistics it was given and returns the accumulated ones', () => {
    const before = emptyStats();
    const { stats, verdict } = firstLook(slice(30, 1), slice(570, 3), { stats: before });
    expect(verdict.result).not.toBe('fail');
    expect(before).toEqual(emptyStats());
    expect(stats.errorAbs.some((v) => v > 0)).toBe(true);
    expect(stats.errorAbs).not.toBe(before.errorAbs);
    expect(stats.fresh).toBe(1);
  });

  it('accumulates evidence across looks: a 5% canary is caught by the sequential test', () => {
    // 1–2 errors in 30 per look is never damning alone; the running test gets there.
    const verdicts = looks(30, slice(30, 2), slice(570, 2));
    expect(verdicts[0]?.result).toBe('inconclusive');
    const firstFail = verdicts.findIndex((v) => v.result === 'fail');
    expect(firstFail).toBeGreaterThan(0);
    expect(firstFail).toBeLessThan(10);
  });
});

/** One look's traffic: n requests, each failing with probability pErr, latency log-normal around 5 ms. */
function draw(rand: Random, n: number, pErr: number): Slice {
  const latency = new Array<number>(BUCKET_COUNT).fill(0);
  let errors = 0;
  for (let i = 0; i < n; i++) {
    if (rand() < pErr) errors++;
    const gauss = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    const b = bucketIndex(5 * Math.exp(0.5 * gauss));
    latency[b] = (latency[b] as number) + 1;
  }
  return { requests: n, errors, latency };
}

/** Share of simulated steps (15 looks of 30 canary / 570 stable requests) with a failing verdict. */
function failShare(seed: number, runs: number, canaryErr: number, stableErr: number): number {
  const rand = seededRandom(seed);
  let failed = 0;
  for (let run = 0; run < runs; run++) {
    let stats = emptyStats();
    let step = { canary: EMPTY, stable: EMPTY };
    for (let k = 0; k < 15; k++) {
      const canary = draw(rand, 30, canaryErr);
      const stable = draw(rand, 570, stableErr);
      step = { canary: add(step.canary, canary), stable: add(step.stable, stable) };
      const r = judge({ policy, delta: { canary, stable }, step, stableRef: step.stable, stats, now: k * 2_000 });
      stats = r.stats;
      if (r.verdict.result === 'fail') {
        failed++;
        break;
      }
    }
  }
  return failed / runs;
}

describe('judge: seeded simulation with noise', () => {
  it('a healthy canary (0.5% errors like stable, same latency) fails in ≤ 1.5% of 300 steps', () => {
    expect(failShare(11, 300, 0.005, 0.005)).toBeLessThanOrEqual(0.015);
  });

  it('a canary at 10× the stable error rate fails in ≥ 95% of 300 steps', () => {
    expect(failShare(12, 300, 0.05, 0.005)).toBeGreaterThanOrEqual(0.95);
  });
});
