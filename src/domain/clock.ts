// Injected clock and randomness (style rule 7): tests drive time and chance exactly.

export interface Clock {
  /** Wall-clock milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * Milliseconds on a clock that only moves forward at a steady rate (never stepped by NTP or an operator):
 * for local deadlines and durations, never for dates or anything compared across processes.
 */
export interface Monotonic {
  now(): number;
}

export const systemMonotonic: Monotonic = { now: () => performance.now() };

/** Returns a float in [0, 1). */
export type Random = () => number;

/** Deterministic PRNG (mulberry32) for tests and seeded simulations. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
