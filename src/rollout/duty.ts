// What a rollout's phase still owes, decided from the stored state alone: the leader carries it out
// whether it made the transition itself, another replica recorded an operator's action, or it just
// took over from a leader that died mid-way. Every duty is idempotent.
import { assertNever } from '../domain/errors.js';
import type { GateName } from '../domain/gate.js';
import { LEANING_P } from '../analysis/checks.js';
import type { RolloutState } from '../domain/rollout.js';
import { stepDuration } from './progression.js';

export type Duty =
  /** Make the canary ready (containers, health gate), then feed `canary-ready` or `canary-failed`. */
  | { type: 'launch' }
  /** Analyse every analysisInterval (every second while the evidence leans against the canary: analysisDelay). */
  | { type: 'analyse' }
  /**
   * Ask the gate the rollout waits for, then feed `gate`; analyse meanwhile once the canary has
   * traffic (a canary failing while a later gate is asked is still rolled back).
   */
  | { type: 'gate'; gate: GateName; analyse: boolean }
  /** Wait until no replica routes the pool, stop its containers, then feed `drained`. */
  | { type: 'retire'; pool: 'canary' | 'old-stable' }
  | { type: 'none' };

export function dutyOf(s: RolloutState | null): Duty {
  if (s === null) return { type: 'none' };
  switch (s.phase) {
    case 'starting':
      return { type: 'launch' };
    case 'progressing':
      return s.gate
        ? { type: 'gate', gate: s.gate.name, analyse: s.gate.name !== 'beforeTraffic' }
        : { type: 'analyse' };
    case 'rolling-back':
      return { type: 'retire', pool: 'canary' };
    case 'promoting':
      return { type: 'retire', pool: 'old-stable' };
    case 'paused':
    case 'succeeded':
    case 'rolled-back':
    case 'aborted':
      return { type: 'none' };
    default:
      return assertNever(s.phase, 'phase');
  }
}

/** Whether the duty includes analysing on the timer. */
export const analyses = (d: Duty): boolean => d.type === 'analyse' || (d.type === 'gate' && d.analyse);

/** How soon a canary the evidence leans against is analysed again (never later than analysisInterval). */
export const LOOK_AGAIN_MS = 1_000;

/**
 * The time until the next analysis. A canary whose last verdict failed, whose failure awaits its
 * confirmation (for the step's time it stands), or whose checks lean towards a regression (a check
 * held inconclusive at p ≤ 0.1; a skipped one does not count) is looked at every second: the sequential
 * tests' p-values stay valid however often they are read, so the rollback waits for the evidence and
 * not for the clock (with the 2 s default, a bad canary kept its traffic up to two seconds longer at
 * each of its two failures). A canary that looks healthy keeps the configured cadence.
 */
export function analysisDelay(s: RolloutState, now: number): number {
  const every = s.policy.analysisInterval;
  const v = s.lastVerdict;
  const leaning = v !== null && v.checks.some((c) => c.status === 'inconclusive' && c.pValue <= LEANING_P);
  const pending = s.failures > 0 && now - (s.failedAt ?? 0) < stepDuration(s);
  return pending || v?.result === 'fail' || leaning ? Math.min(every, LOOK_AGAIN_MS) : every;
}
