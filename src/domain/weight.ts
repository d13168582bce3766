// The canary weight is a percentage with up to two decimals. Internally it is kept as an integer
// number of basis points (0..10000) so that comparisons and the sticky bucket test are exact.

export const MAX_BP = 10_000;

/** Basis points: integer in [0, 10000]. */
export type BasisPoints = number;

/** Percent (0–100, ≤ 2 decimals) → basis points, or a message saying what was expected. */
export function percentToBp(percent: unknown): { ok: true; bp: BasisPoints } | { ok: false; message: string } {
  if (typeof percent !== 'number' || !Number.isFinite(percent)) {
    return { ok: false, message: 'expected a number from 0 to 100' };
  }
  if (percent < 0 || percent > 100) return { ok: false, message: `must be between 0 and 100, got ${percent}` };
  if (!hundredths(percent)) return { ok: false, message: `at most two decimals are allowed, got ${percent}` };
  return { ok: true, bp: Math.round(percent * 100) };
}

/** Whether a percentage has at most two decimals (a whole number of basis points). */
export function hundredths(percent: number): boolean {
  return Math.abs(Math.round(percent * 100) - percent * 100) <= 1e-6;
}

export function bpToPercent(bp: BasisPoints): number {
  return bp / 100;
}
