// What a rollout's phase still owes, decided from the stored state alone: the leader carries it out
// whether it made the transition itself, another replica recorded an operator's action, or it just
// took over from a leader that died mid-way. Every duty is idempotent.
import { assertNever } from '../domain/errors.js';
import type { GateName } from '../domain/gate.js';
import type { RolloutState } from '../domain/rollout.js';

export type Duty =
  /** Make the canary ready (containers, health gate), then feed `canary-ready` or `canary-failed`. */
  | { type: 'launch' }
  /** Analyse every analysisInterval. */
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
