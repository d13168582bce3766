import { describe, expect, it } from 'vitest';
import { seededRandom, type Random } from '../../../src/domain/clock.js';
import { MAX_BP } from '../../../src/domain/weight.js';
import { choosePool, parseOverride, readStickyBucket } from '../../../src/dataplane/split.js';

const never: Random = () => {
  throw new Error('random() must not be called here');
};
const constant =
  (v: number): Random =>
  () =>
    v;
/** Just below 1: the largest value a Random may return. */
const ALMOST_ONE = 1 - 2 ** -53;
/** Canary count for 10 000 non-sticky decisions at 25 % with seededRandom(42), computed by hand once. */
const GOLDEN_CANARY_SEED42_25PCT = 2516;

describe('choosePool without sticky', () => {
  it('sends nobody to the canary at weight 0, whatever the dice say', () => {
    expect(choosePool(0, undefined, undefined, false, constant(0)).pool).toBe('stable');
    expect(choosePool(0, undefined, undefined, false, constant(ALMOST_ONE)).pool).toBe('stable');
  });

  it('sends everybody to the canary at weight 100, whatever the dice say', () => {
    expect(choosePool(MAX_BP, undefined, undefined, false, constant(0)).pool).toBe('canary');
    expect(choosePool(MAX_BP, undefined, undefined, false, constant(ALMOST_ONE)).pool).toBe('canary');
  });

  it('draws the canary iff random * 10000 < weight (1 bp boundary)', () => {
    expect(choosePool(1, undefined, undefined, false, constant(0)).pool).toBe('canary');
    expect(choosePool(1, undefined, undefined, false, constant(0.0001)).pool).toBe('stable');
    expect(choosePool(9999, undefined, undefined, false, constant(0.9998)).pool).toBe('canary');
    expect(choosePool(9999, undefined, undefined, false, constant(0.9999)).pool).toBe('stable');
  });

  it('never mints a bucket', () => {
    for (const w of [0, 2500, MAX_BP]) {
      expect(choosePool(w, undefined, undefined, false, constant(0.3)).mintedBucket).toBeUndefined();
    }
  });

  it('gives exact counts for a seeded sequence, one draw per decision', () => {
    const N = 10_000;
    let draws = 0;
    const seeded = seededRandom(42);
    const counting: Random = () => {
      draws++;
      return seeded();
    };
    const replay = seededRandom(42);
    let canary = 0;
    let expected = 0;
    for (let i = 0; i < N; i++) {
      if (choosePool(2500, undefined, undefined, false, counting).pool === 'canary') canary++;
      if (replay() * MAX_BP < 2500) expected++;
    }
    expect(draws).toBe(N);
    expect(canary).toBe(expected);
    // Golden value for seed 42: guards against a change in how the draw is used.
    expect(canary).toBe(GOLDEN_CANARY_SEED42_25PCT);
    expect(Math.abs(canary - 2500)).toBeLessThan(200);
  });
});

describe('choosePool with sticky', () => {
  it('uses an existing bucket without drawing or minting', () => {
    const d = choosePool(5000, undefined, 4999, true, never);
    expect(d).toEqual({ pool: 'canary', mintedBucket: undefined });
    expect(choosePool(5000, undefined, 5000, true, never)).toEqual({ pool: 'stable', mintedBucket: undefined });
  });

  it('puts a client in the canary iff bucket < weight, for every bucket', () => {
    const wrong: number[] = [];
    for (let b = 0; b < MAX_BP; b++) {
      if (choosePool(b, undefined, b, true, never).pool !== 'stable') wrong.push(b);
      if (choosePool(b + 1, undefined, b, true, never).pool !== 'canary') wrong.push(b);
    }
    expect(wrong).toEqual([]);
  });

  it('is monotonic: as the weight rises no bucket ever goes back to stable', () => {
    const weights = [0, 1, 5, 50, 100, 500, 1000, 2500, 3333, 5000, 7500, 9000, 9999, MAX_BP];
    let violations = 0;
    for (let b = 0; b < MAX_BP; b++) {
      let inCanary = false;
      for (const w of weights) {
        const canary = choosePool(w, undefined, b, true, never).pool === 'canary';
        if (inCanary && !canary) violations++;
        inCanary = canary;
      }
      if (!inCanary) violations++; // at 100 % everybody is in the canary
    }
    expect(violations).toBe(0);
  });

  it('puts nobody in the canary at weight 0, even a minted bucket 0', () => {
    const d = choosePool(0, undefined, undefined, true, constant(0));
    expect(d).toEqual({ pool: 'stable', mintedBucket: 0 });
  });

  it('mints a bucket in [0, 10000) and routes by it', () => {
    expect(choosePool(1, undefined, undefined, true, constant(0))).toEqual({ pool: 'canary', mintedBucket: 0 });
    expect(choosePool(MAX_BP, undefined, undefined, true, constant(ALMOST_ONE))).toEqual({
      pool: 'canary',
      mintedBucket: 9999,
    });
    expect(choosePool(9999, undefined, undefined, true, constant(ALMOST_ONE))).toEqual({
      pool: 'stable',
      mintedBucket: 9999,
    });
    const rnd = seededRandom(7);
    const seen = new Set<number>();
    const bad: unknown[] = [];
    for (let i = 0; i < 20_000; i++) {
      const d = choosePool(3000, undefined, undefined, true, rnd);
      const m = d.mintedBucket;
      if (
        m === undefined ||
        !Number.isInteger(m) ||
        m < 0 ||
        m >= MAX_BP ||
        d.pool !== (m < 3000 ? 'canary' : 'stable')
      )
        bad.push(d);
      else seen.add(m);
    }
    expect(bad).toEqual([]);
    // 20k draws over 10k buckets cover most of them (expected ≈ 86 %).
    expect(seen.size).toBeGreaterThan(8000);
  });
});

describe('override', () => {
  it('wins over weight and sticky bucket and never mints', () => {
    expect(choosePool(0, 'canary', undefined, false, never)).toEqual({ pool: 'canary', mintedBucket: undefined });
    expect(choosePool(MAX_BP, 'stable', undefined, false, never)).toEqual({ pool: 'stable', mintedBucket: undefined });
    expect(choosePool(0, 'canary', 9999, true, never)).toEqual({ pool: 'canary', mintedBucket: undefined });
    expect(choosePool(MAX_BP, 'stable', undefined, true, never)).toEqual({ pool: 'stable', mintedBucket: undefined });
  });

  it('parseOverride accepts exactly "stable" and "canary"', () => {
    expect(parseOverride('canary')).toBe('canary');
    expect(parseOverride('stable')).toBe('stable');
    expect(parseOverride(undefined)).toBeUndefined();
    expect(parseOverride('Canary')).toBeUndefined();
    expect(parseOverride('')).toBeUndefined();
    expect(parseOverride(['canary', 'stable'])).toBeUndefined();
  });
});

describe('readStickyBucket', () => {
  const P = 'veer-web=';

  it('reads the cookie alone, first, middle or last among others', () => {
    expect(readStickyBucket('veer-web=42', P)).toBe(42);
    expect(readStickyBucket('veer-web=42; a=1; b=2', P)).toBe(42);
    expect(readStickyBucket('a=1; veer-web=4321; b=2', P)).toBe(4321);
    expect(readStickyBucket('a=1; b=2; veer-web=9999', P)).toBe(9999);
    expect(readStickyBucket('a=1;veer-web=7', P)).toBe(7);
  });

  it('reads bucket 0 and leading zeros', () => {
    expect(readStickyBucket('veer-web=0', P)).toBe(0);
    expect(readStickyBucket('veer-web=0042', P)).toBe(42);
  });

  it('is undefined without a header or without the cookie', () => {
    expect(readStickyBucket(undefined, P)).toBeUndefined();
    expect(readStickyBucket('', P)).toBeUndefined();
    expect(readStickyBucket('a=1; b=2', P)).toBeUndefined();
  });

  it('does not match a cookie whose name merely ends with the name', () => {
    expect(readStickyBucket('xveer-web=12', P)).toBeUndefined();
    expect(readStickyBucket('my-veer-web=12; other=1', P)).toBeUndefined();
    expect(readStickyBucket('a=1; old_veer-web=12', P)).toBeUndefined();
    // ... but still finds the real one after a look-alike.
    expect(readStickyBucket('my-veer-web=12; veer-web=34', P)).toBe(34);
  });

  it('does not match the name inside another cookie value', () => {
    expect(readStickyBucket('other=veer-web=12', P)).toBeUndefined();
  });

  it('does not match a longer cookie name that starts with the name', () => {
    expect(readStickyBucket('veer-web2=12', P)).toBeUndefined();
    expect(readStickyBucket('veer-website=12', P)).toBeUndefined();
  });

  it('rejects invalid values', () => {
    for (const v of ['abc', '12a', 'a12', '-1', '1.5', '', '10000', '99999', '123456', '1234567', '0000042', ' 5']) {
      expect(readStickyBucket(`veer-web=${v}`, P), `value "${v}"`).toBeUndefined();
      expect(readStickyBucket(`a=1; veer-web=${v}; b=2`, P), `value "${v}" among others`).toBeUndefined();
    }
  });

  it('tolerates whitespace around pairs', () => {
    expect(readStickyBucket('  veer-web=42', P)).toBe(42);
    expect(readStickyBucket('veer-web=42 ', P)).toBe(42);
    expect(readStickyBucket('a=1 ;  veer-web=42 ; b=2', P)).toBe(42);
  });
});
