// The rollout state machine: a pure transition(state, event, now) → next state + effects. All I/O
// (routing, draining, persistence, notifications) is done by the controller from the effects.
import { assertNever } from '../domain/errors.js';
import type {
  EventKind,
  Phase,
  RolloutPolicy,
  RolloutState,
  SequentialStats,
  Strategy,
  Verdict,
} from '../domain/rollout.js';
import { MAX_BP } from '../domain/weight.js';

export type MachineEvent =
  /** `targets`: the canary's addresses once known (containers created by the rollout). */
  | { type: 'canary-ready'; targets?: string[] }
  | { type: 'canary-failed'; reason: string }
  /** veer restarted mid-rollout with onRestart: rollback. */
  | { type: 'interrupted'; reason: string }
  /** `until`: the analysed data ends just before this time (whole seconds). */
  | { type: 'analysis'; verdict: Verdict; stats: SequentialStats; until: number }
  | { type: 'promote'; full: boolean }
  | { type: 'abort'; reason: string }
  | { type: 'pause'; reason: string }
  | { type: 'resume' }
  | { type: 'manual-shift'; weightBp: number }
  | { type: 'drained' };

export type Effect =
  | { type: 'set-weight'; weightBp: number }
  /** Atomically: the canary pool becomes stable, the canary pool is emptied, weight 0. */
  | { type: 'promote-pools' }
  /** Drain (in-flight requests finish, bounded) and remove a pool's targets; then feed 'drained'. */
  | { type: 'remove-pool'; pool: 'canary' | 'old-stable'; targets: string[] }
  | { type: 'emit'; kind: EventKind; message: string; data?: Record<string, unknown> };

export type Transition =
  { ok: true; state: RolloutState; effects: Effect[] } | { ok: false; code: 'invalid_phase'; message: string };

export interface NewRollout {
  id: string;
  service: string;
  strategy: Strategy;
  policy: RolloutPolicy;
  canaryTargets: string[];
  stableTargets: string[];
  stats: SequentialStats;
}

export function newRollout(r: NewRollout, now: number): RolloutState {
  return {
    ...r,
    phase: 'starting',
    step: 0,
    weightBp: 0,
    stepStartedAt: now,
    lastAnalysisAt: now,
    failures: 0,
    reason: null,
    lastVerdict: null,
    resumeTo: null,
    rollbackOutcome: null,
    startedAt: now,
    updatedAt: now,
  };
}

const pctOf = (bp: number): number => bp / 100;
const stepBp = (policy: RolloutPolicy, i: number): number => Math.round((policy.steps[i] as number) * 100);

function ok(state: RolloutState, effects: Effect[]): Transition {
  return { ok: true, state, effects };
}

function invalid(s: RolloutState, action: string): Transition {
  return {
    ok: false,
    code: 'invalid_phase',
    message: `cannot ${action} rollout ${s.id} of ${s.service}: phase is ${s.phase}`,
  };
}

function rollback(s: RolloutState, now: number, reason: string, outcome: 'rolled-back' | 'aborted'): Transition {
  const next: RolloutState = {
    ...s,
    phase: 'rolling-back',
    weightBp: 0,
    reason,
    rollbackOutcome: outcome,
    resumeTo: null,
    updatedAt: now,
  };
  return ok(next, [
    { type: 'set-weight', weightBp: 0 },
    { type: 'emit', kind: 'rolling-back', message: reason, data: { verdict: s.lastVerdict } },
    { type: 'remove-pool', pool: 'canary', targets: s.canaryTargets },
  ]);
}

function promote(s: RolloutState, now: number, reason: string): Transition {
  const next: RolloutState = { ...s, phase: 'promoting', weightBp: MAX_BP, reason, resumeTo: null, updatedAt: now };
  return ok(next, [
    { type: 'promote-pools' },
    { type: 'emit', kind: 'promoting', message: reason },
    { type: 'remove-pool', pool: 'old-stable', targets: s.stableTargets },
  ]);
}

/** Moves to the next step (canary) or the switch (blue-green), or promotes after the last one. */
function advance(s: RolloutState, now: number, why: string): Transition {
  const last = s.strategy === 'canary' ? s.policy.steps.length - 1 : 1;
  if (s.step >= last) return promote(s, now, why);
  const step = s.step + 1;
  const weightBp = s.strategy === 'canary' ? stepBp(s.policy, step) : MAX_BP;
  const next: RolloutState = {
    ...s,
    phase: 'progressing',
    step,
    weightBp,
    stepStartedAt: now,
    failures: 0,
    reason: null,
    resumeTo: null,
    updatedAt: now,
  };
  const message =
    s.strategy === 'canary'
      ? `step ${step + 1}/${last + 1}: canary weight ${pctOf(weightBp)}% (${why})`
      : `switched all traffic to the new pool (${why}); rollback window ${s.policy.rollbackWindow / 1000}s`;
  return ok(next, [
    { type: 'set-weight', weightBp },
    { type: 'emit', kind: 'step', message },
  ]);
}

/** How long the current step must last before a passing analysis may advance it. */
function stepDuration(s: RolloutState): number {
  return s.strategy === 'blue-green' && s.step === 1 ? s.policy.rollbackWindow : s.policy.stepInterval;
}

function onAnalysis(s: RolloutState, verdict: Verdict, stats: SequentialStats, until: number, now: number): Transition {
  const base: RolloutState = { ...s, lastVerdict: verdict, stats, lastAnalysisAt: until, updatedAt: now };
  const note: Effect = {
    type: 'emit',
    kind: 'analysis',
    message: `${verdict.result}: ${verdict.reason}`,
    data: { verdict },
  };
  switch (verdict.result) {
    case 'fail': {
      const failures = s.failures + 1;
      // Blue-green after the switch: every user is on the new pool, so one failed analysis in the
      // rollback window switches back at once.
      const switched = s.strategy === 'blue-green' && s.step === 1;
      if (verdict.failFast || switched || failures >= s.policy.failureLimit) {
        const why = verdict.failFast
          ? 'overwhelming evidence'
          : switched
            ? 'failed in the blue-green rollback window'
            : `${failures} failed analyses in a row`;
        return rollback({ ...base, failures }, now, `rolled back (${why}): ${verdict.reason}`, 'rolled-back');
      }
      return ok({ ...base, failures }, [note]);
    }
    case 'pass': {
      const passed = { ...base, failures: 0 };
      if (now - s.stepStartedAt >= stepDuration(s)) return advance(passed, now, 'analysis passed');
      return ok(passed, [note]);
    }
    case 'inconclusive': {
      if (now - s.stepStartedAt < s.policy.progressDeadline) return ok(base, [note]);
      const reason = `progress deadline (${s.policy.progressDeadline / 1000}s) passed without a decision: ${verdict.reason}`;
      if (s.policy.onDeadline === 'rollback') return rollback(base, now, reason, 'rolled-back');
      return ok({ ...base, phase: 'paused', resumeTo: 'progressing', reason }, [
        { type: 'emit', kind: 'paused', message: reason, data: { verdict } },
      ]);
    }
    default:
      return assertNever(verdict.result, 'verdict');
  }
}

const ACTIVE: readonly Phase[] = ['starting', 'progressing', 'paused'];

export function transition(s: RolloutState, e: MachineEvent, now: number): Transition {
  switch (e.type) {
    case 'canary-ready': {
      if (s.phase !== 'starting') return invalid(s, 'mark ready');
      const weightBp = s.strategy === 'canary' ? stepBp(s.policy, 0) : 0;
      const canaryTargets = e.targets ?? s.canaryTargets;
      const next: RolloutState = {
        ...s,
        phase: 'progressing',
        step: 0,
        weightBp,
        canaryTargets,
        stepStartedAt: now,
        lastAnalysisAt: now,
        updatedAt: now,
      };
      const message =
        s.strategy === 'canary'
          ? `canary ready; step 1/${s.policy.steps.length}: canary weight ${pctOf(weightBp)}%`
          : 'new pool ready; preview through the override header only';
      return ok(next, [
        { type: 'set-weight', weightBp },
        { type: 'emit', kind: 'canary-ready', message },
      ]);
    }
    case 'canary-failed':
      return s.phase === 'starting' ? rollback(s, now, e.reason, 'rolled-back') : invalid(s, 'fail the start of');
    case 'analysis':
      return s.phase === 'progressing' ? onAnalysis(s, e.verdict, e.stats, e.until, now) : invalid(s, 'analyse');
    case 'promote':
      // A rollout paused before its canary was ready has nothing promotable yet.
      if (s.phase !== 'progressing' && !(s.phase === 'paused' && s.resumeTo !== 'starting'))
        return invalid(s, 'promote');
      return e.full ? promote(s, now, 'promoted by operator (full)') : advance(s, now, 'promoted by operator');
    case 'abort':
      return ACTIVE.includes(s.phase) ? rollback(s, now, e.reason, 'aborted') : invalid(s, 'abort');
    case 'interrupted':
      return ACTIVE.includes(s.phase)
        ? rollback(s, now, e.reason, 'rolled-back')
        : invalid(s, 'roll back after a restart');
    case 'pause': {
      if (s.phase !== 'progressing' && s.phase !== 'starting') return invalid(s, 'pause');
      return ok({ ...s, phase: 'paused', resumeTo: s.phase, reason: e.reason, updatedAt: now }, [
        { type: 'emit', kind: 'paused', message: e.reason },
      ]);
    }
    case 'resume': {
      if (s.phase !== 'paused') return invalid(s, 'resume');
      const to = s.resumeTo ?? 'progressing';
      // The step's clock restarts: the time spent paused is not evidence. The accumulated
      // sequential statistics are kept.
      const next: RolloutState = {
        ...s,
        phase: to,
        resumeTo: null,
        reason: null,
        stepStartedAt: now,
        failures: 0,
        updatedAt: now,
      };
      return ok(next, [{ type: 'emit', kind: 'resumed', message: `resumed at ${pctOf(s.weightBp)}%` }]);
    }
    case 'manual-shift': {
      if (!ACTIVE.includes(s.phase)) return invalid(s, 'shift traffic during');
      const reason = `paused: traffic shifted by hand to ${pctOf(e.weightBp)}%`;
      const next: RolloutState = {
        ...s,
        phase: 'paused',
        resumeTo: s.phase === 'paused' ? s.resumeTo : (s.phase as 'starting' | 'progressing'),
        weightBp: e.weightBp,
        reason,
        updatedAt: now,
      };
      return ok(next, [
        { type: 'set-weight', weightBp: e.weightBp },
        { type: 'emit', kind: 'paused', message: reason },
      ]);
    }
    case 'drained': {
      if (s.phase === 'promoting')
        return ok({ ...s, phase: 'succeeded', updatedAt: now }, [
          {
            type: 'emit',
            kind: 'succeeded',
            message: 'rollout succeeded: the new pool is stable, the old pool was removed',
          },
        ]);
      if (s.phase === 'rolling-back') {
        const outcome = s.rollbackOutcome ?? 'rolled-back';
        return ok({ ...s, phase: outcome, updatedAt: now }, [
          { type: 'emit', kind: outcome, message: `${outcome}: ${s.reason ?? ''}`.trim() },
        ]);
      }
      return invalid(s, 'finish draining');
    }
    default:
      return assertNever(e, 'event');
  }
}
