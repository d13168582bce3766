// Running request and error counts behind the judge's holds and practical gates (the sequential
// tests keep their own statistics). A second's errors count at most five times the limit's share
// (plus two): a burst is one event, so it cannot hold a healthy canary for the rest of its rollout.
import type { RolloutPolicy, SequentialStats } from '../domain/rollout.js';

/** Errors in one second beyond five times the limit's share (and two more) are one burst, counted once. */
export const burstCap = (requests: number, p: RolloutPolicy): number => Math.ceil(requests * p.maxErrorRate * 5) + 2;

export function addTo(t: { requests: number; errors: number }, requests: number, errors: number): void {
  t.requests += requests;
  t.errors += errors;
}

/** The current step's running counts (burst-capped), started again when the step changes. */
export function stepTally(stats: SequentialStats, since: number): NonNullable<SequentialStats['step']> {
  if (stats.step?.since !== since)
    stats.step = { since, canary: { requests: 0, errors: 0 }, stable: { requests: 0, errors: 0 }, canarySeconds: 0 };
  return stats.step;
}
