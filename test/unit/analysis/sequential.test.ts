import { describe, expect, it } from 'vitest';
import { seededRandom, type Random } from '../../../src/domain/clock.js';
import {
  mixtureLogLR,
  pValue,
  RATE_MULTIPLES,
  RATIO_WEIGHTS,
  RATIOS,
  SECONDS_PER_FAILURE,
  secondCaps,
  updateRateTest,
  updateRatioTest,
  zeros,
} from '../../../src/analysis/sequential.js';

const ln = Math.log;

describe('grids', () => {
  it('has one ratio weight per ratio, summing to 1 (a mixture of martingales is a martingale only then)', () => {
    expect(RATIO_WEIGHTS).toHaveLength(RATIOS.length);
    expect(RATIO_WEIGHTS.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(zeros(3)).toEqual([0, 0, 0]);
  });
});

describe('secondCaps', () => {
  it('keeps a failure on four whole seconds and a confirmation (√α) on two, with room for errors', () => {
    for (const alpha of [0.05, 0.01, 0.001]) {
      const failure = ln(1 / alpha);
      const { errors, latency } = secondCaps(alpha);
      expect(SECONDS_PER_FAILURE * errors).toBeGreaterThan(failure);
      expect((SECONDS_PER_FAILURE - 1) * errors).toBeLessThan(failure);
      expect(2 * errors).toBeGreaterThan(failure / 2);
      expect(errors).toBeLessThan(failure / 2);
      // Latency: exactly a quarter, so a cold start's six slow seconds are no rollback.
      expect(SECONDS_PER_FAILURE * latency).toBeCloseTo(failure, 12);
    }
  });
});

describe('updateRateTest', () => {
  it('adds failures·ln(p1/p0) + successes·ln((1−p1)/(1−p0)) for every multiple, capping p1 at 0.999', () => {
    const llr = zeros(RATE_MULTIPLES.length);
    updateRateTest(llr, 0.1, 10, 2);
    // p1 = 0.15, 0.2, 0.3, 0.5, then 1.0, 2.0, 5.0 capped to 0.999.
    const expected = [0.15, 0.2, 0.3, 0.5, 0.999, 0.999, 0.999].map((p1) => 2 * ln(p1 / 0.1) + 8 * ln((1 - p1) / 0.9));
    for (let j = 0; j < expected.length; j++) expect(llr[j]).toBeCloseTo(expected[j] as number, 12);
    expect(llr[0]).toBeCloseTo(0.3536629054967397, 12);
    expect(llr[1]).toBeCloseTo(0.4440300758688235, 12);
    expect(llr[4]).toBeCloseTo(-49.815988921273565, 9);
  });

  it('accumulates: two looks equal one look at the pooled counts', () => {
    const twice = zeros(RATE_MULTIPLES.length);
    updateRateTest(twice, 0.01, 30, 1);
    updateRateTest(twice, 0.01, 50, 3);
    const once = zeros(RATE_MULTIPLES.length);
    updateRateTest(once, 0.01, 80, 4);
    for (let j = 0; j < once.length; j++) expect(twice[j]).toBeCloseTo(once[j] as number, 10);
  });

  it('only successes push every alternative down; only failures push every alternative up', () => {
    const good = zeros(RATE_MULTIPLES.length);
    updateRateTest(good, 0.01, 100, 0);
    expect(good.every((v) => v < 0)).toBe(true);
    expect(good[0]).toBeCloseTo(100 * ln(0.985 / 0.99), 12);
    const bad = zeros(RATE_MULTIPLES.length);
    updateRateTest(bad, 0.01, 3, 3);
    expect(bad.every((v) => v > 0)).toBe(true);
    expect(bad[1]).toBeCloseTo(3 * ln(2), 12);
  });

  it('ignores empty intervals and degenerate limits', () => {
    const llr = [1, 2, 3, 4, 5, 6, 7];
    updateRateTest(llr, 0.01, 0, 0);
    updateRateTest(llr, 0, 10, 5);
    updateRateTest(llr, 1, 10, 5);
    // p0 = 0.999: every alternative is capped to p0 itself and carries no information.
    updateRateTest(llr, 0.999, 10, 5);
    expect(llr).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});

describe('updateRatioTest', () => {
  it('adds canaryErr·ln(q/s) + stableErr·ln((1−q)/(1−s)) with q = r·s / (r·s + 1 − s)', () => {
    const llr = zeros(RATIOS.length);
    updateRatioTest(llr, 10, 1, 90, 3); // s = 0.1
    const expected = RATIOS.map((r) => {
      const q = (r * 0.1) / (r * 0.1 + 0.9);
      return ln(q / 0.1) + 3 * ln((1 - q) / 0.9);
    });
    for (let j = 0; j < RATIOS.length; j++) expect(llr[j]).toBeCloseTo(expected[j] as number, 12);
    // r = 2: q = 0.2 / 1.1 = 2/11.
    expect(llr[1]).toBeCloseTo(0.31190646134264544, 12);
  });

  it('ignores intervals without errors or without traffic in a pool', () => {
    const llr = [1, 1, 1, 1, 1, 1];
    updateRatioTest(llr, 10, 0, 90, 0);
    updateRatioTest(llr, 0, 0, 90, 5);
    updateRatioTest(llr, 10, 2, 0, 0);
    expect(llr).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('gives no evidence against a canary whose errors are in proportion to its traffic', () => {
    // An incident on both pools: 6 of 30 canary and 114 of 570 stable requests fail (20% each).
    const llr = zeros(RATIOS.length);
    for (let look = 0; look < 10; look++) updateRatioTest(llr, 30, 6, 570, 114);
    expect(llr.every((v) => v < 0)).toBe(true);
    expect(pValue(llr, RATIO_WEIGHTS)).toBe(1);
  });
});

describe('mixtureLogLR and pValue', () => {
  it('is the log of the (weighted) mean of the likelihood ratios', () => {
    expect(mixtureLogLR([])).toBe(0);
    expect(mixtureLogLR([0, 0, 0])).toBeCloseTo(0, 15);
    expect(mixtureLogLR([ln(2), ln(4)])).toBeCloseTo(ln(3), 12);
    expect(mixtureLogLR([0, ln(3)], [0.25, 0.75])).toBeCloseTo(ln(2.5), 12);
  });

  it('stays finite where exp() of the inputs would overflow or underflow', () => {
    expect(mixtureLogLR([1000, 1000])).toBeCloseTo(1000, 9);
    expect(mixtureLogLR([1000, 0])).toBeCloseTo(1000 + ln(0.5), 9);
    expect(mixtureLogLR([-1000, -1000])).toBeCloseTo(-1000, 9);
    expect(mixtureLogLR([800, 801], [0.5, 0.5])).toBeCloseTo(801 + ln((Math.exp(-1) + 1) / 2), 9);
    expect(Number.isFinite(mixtureLogLR([5000, -5000, 3]))).toBe(true);
  });

  it('is min(1, 1/Λ), always within [0, 1]', () => {
    expect(pValue([])).toBe(1);
    expect(pValue([-5, -7])).toBe(1);
    expect(pValue([-1000])).toBe(1);
    expect(pValue([ln(100)])).toBeCloseTo(0.01, 12);
    expect(pValue([ln(200), -Infinity])).toBeCloseTo(0.01, 12);
    expect(pValue([0, ln(199)], [0.5, 0.5])).toBeCloseTo(0.01, 12);
    const tiny = pValue([1000, 900]);
    expect(tiny).toBeGreaterThanOrEqual(0);
    expect(tiny).toBeLessThan(1e-300);
  });
});

/** Binomial draw by inversion of the CDF: one uniform per draw. */
function binomial(rand: Random, n: number, p: number): number {
  const u = rand();
  let pmf = (1 - p) ** n;
  let cdf = pmf;
  let k = 0;
  while (u >= cdf && k < n) {
    pmf = (((pmf * (n - k)) / (k + 1)) * p) / (1 - p);
    k++;
    cdf += pmf;
  }
  return k;
}

const RUNS = 2000;
const LOOKS = 200;
const ALPHA = 0.01;

/** A test under simulation: how many alternatives it tracks, and one look that returns the p-value. */
interface Simulated {
  size: number;
  look: (rand: Random, llr: number[]) => number;
}

/** Share of runs whose p-value ever reaches α within LOOKS looks (a run stops at its first alarm). */
function alarmRate(seed: number, t: Simulated): number {
  const rand = seededRandom(seed);
  let alarms = 0;
  for (let run = 0; run < RUNS; run++) {
    const llr = zeros(t.size);
    for (let i = 0; i < LOOKS; i++) {
      if (t.look(rand, llr) <= ALPHA) {
        alarms++;
        break;
      }
    }
  }
  return alarms / RUNS;
}

/** Looks of 30 canary requests at error rate p, tested against the limit p0. */
const rateLook = (p: number, p0: number): Simulated => ({
  size: RATE_MULTIPLES.length,
  look: (rand, llr) => {
    updateRateTest(llr, p0, 30, binomial(rand, 30, p));
    return pValue(llr);
  },
});

/** Looks of 30 canary and 570 stable requests (5% weight) at error rates pc and ps. */
const ratioLook = (pc: number, ps: number): Simulated => ({
  size: RATIOS.length,
  look: (rand, llr) => {
    updateRatioTest(llr, 30, binomial(rand, 30, pc), 570, binomial(rand, 570, ps));
    return pValue(llr, RATIO_WEIGHTS);
  },
});

describe('repeated looks do not inflate the false-alarm rate (seeded simulation)', () => {
  it('rate test, canary rate = p0, 200 looks: alarms in ≤ 1.5% of runs', () => {
    const rate = alarmRate(1, rateLook(0.01, 0.01));
    expect(rate).toBeLessThanOrEqual(0.015);
  });

  it('rate test, canary better than p0 (the supermartingale case): alarms in ≤ 1.5% of runs', () => {
    expect(alarmRate(2, rateLook(0.005, 0.01))).toBeLessThanOrEqual(0.015);
  });

  it('ratio test, canary rate = stable rate, 200 looks: alarms in ≤ 1.5% of runs', () => {
    expect(alarmRate(3, ratioLook(0.05, 0.05))).toBeLessThanOrEqual(0.015);
    expect(alarmRate(4, ratioLook(0.005, 0.005))).toBeLessThanOrEqual(0.015);
  });

  it('has the power to alarm when the null is false (so the bounds above are not vacuous)', () => {
    // The same simulation with a canary failing 3× as often is caught in nearly every run.
    expect(alarmRate(5, rateLook(0.03, 0.01))).toBeGreaterThan(0.9);
    expect(alarmRate(6, ratioLook(0.1, 0.02))).toBeGreaterThan(0.9);
  });
});
