// How a rollout moves along its steps: advance a step, promote after the last, roll back, and what
// an analysis verdict does to the current step. Pure; the machine (machine.ts) decides which of
// these an event may trigger in which phase.
import { assertNever } from '../domain/errors.js';
import type { GateName } from '../domain/gate.js';
import type { RolloutPolicy, RolloutState, SequentialStats, Verdict } from '../domain/rollout.js';
import { MAX_BP } from '../domain/weight.js';
import { awaitGate, gateConfig } from './gate-wait.js';
import type { Effect, Transition } from './machine.js';

export const pctOf = (bp: number): number => bp / 100;
export const stepBp = (policy: RolloutPolicy, i: number): number => Math.round((policy.steps[i] as number) * 100);

export function ok(state: RolloutState, effects: Effect[]): Transition {
  return { ok: true, state, effects };
}

export function invalid(s: RolloutState, action: string): Transition {
  return {
    ok: false,
    code: 'invalid_phase',
    message: `cannot ${action} rollout ${s.id} of ${s.service}: phase is ${s.phase}`,
  };
}

export function rollback(s: RolloutState, now: number, reason: string, outcome: 'rolled-back' | 'aborted'): Transition {
  const next: RolloutState = {
    ...s,
    phase: 'rolling-back',
    weightBp: 0,
    reason,
    rollbackOutcome: outcome,
    resumeTo: null,
    gate: undefined,
    updatedAt: now,
  };
  return ok(next, [{ type: 'emit', kind: 'rolling-back', message: reason, data: { verdict: s.lastVerdict } }]);
}

export function promote(s: RolloutState, now: number, reason: string): Transition {
  const next: RolloutState = {
    ...s,
    phase: 'promoting',
    weightBp: MAX_BP,
    reason,
    resumeTo: null,
    gate: undefined,
    updatedAt: now,
  };
  return ok(next, [{ type: 'emit', kind: 'promoting', message: reason }]);
}

/**
 * The last canary step that is judged. A step at 100% has no stable traffic to compare with: an
 * incident both pools share, or a drift of both, would be blamed on the canary judged against the
 * stable's earlier figures. So the canary is promoted once the last step below 100% passes; only a
 * policy whose one step is 100 is judged there (on the absolute limits alone).
 */
export function lastJudgedStep(steps: readonly number[]): number {
  for (let i = steps.length - 1; i >= 0; i--) if ((steps[i] as number) < 100) return i;
  return steps.length - 1;
}

/** The canary's first step (blue-green: its preview) begins: the evidence and the step's clock start now. */
export function firstStep(s: RolloutState, now: number): RolloutState {
  return {
    ...s,
    phase: 'progressing',
    gate: undefined,
    resumeTo: null,
    reason: null,
    step: 0,
    weightBp: s.strategy === 'canary' ? stepBp(s.policy, 0) : 0,
    failures: 0,
    stepStartedAt: now,
    trafficSince: now,
    lastAnalysisAt: now,
    updatedAt: now,
  };
}

/**
 * The step advance() moves to; past the last judged one (`last`), it promotes. The canary's weight never goes
 * back down: a weight shifted by hand (then resumed) skips the steps at or below it.
 */
function nextStep(s: RolloutState): { step: number; last: number } {
  const last = s.strategy === 'canary' ? lastJudgedStep(s.policy.steps) : 1;
  if (s.step >= last) return { step: last + 1, last };
  let step = s.step + 1;
  if (s.strategy === 'canary') while (step <= last && stepBp(s.policy, step) <= s.weightBp) step++;
  return { step, last };
}

/** Whether the next advance() promotes (a promotion removes the old stable pool). */
export function advancePromotes(s: RolloutState): boolean {
  const { step, last } = nextStep(s);
  return step > last;
}

/** Moves to the next step (canary) or the switch (blue-green), or promotes after the last judged one. */
export function advance(s: RolloutState, now: number, why: string): Transition {
  const { step, last } = nextStep(s);
  if (step > last) return promote(s, now, s.step < s.policy.steps.length - 1 ? `${why}; promoting` : why);
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
    gate: undefined,
    updatedAt: now,
  };
  const message =
    s.strategy === 'canary'
      ? `step ${step + 1}/${s.policy.steps.length}: canary weight ${pctOf(weightBp)}% (${why})`
      : `switched all traffic to the new pool (${why}); rollback window ${s.policy.rollbackWindow / 1000}s`;
  return ok(next, [{ type: 'emit', kind: 'step', message }]);
}

/** The gate the move after a passed step must pass first; null when none is configured. */
function gateBefore(s: RolloutState): GateName | null {
  // Blue-green asks once, before its switch; the end of the rollback window promotes without asking.
  if (s.strategy === 'blue-green' && s.step > 0) return null;
  const promoting = s.strategy === 'blue-green' || s.step >= lastJudgedStep(s.policy.steps);
  const name: GateName = promoting ? 'beforePromotion' : 'beforeEachStep';
  return gateConfig(s, name) ? name : null;
}

/** How long the current step must last before a passing analysis may advance it; a failure stands as long. */
export function stepDuration(s: RolloutState): number {
  return s.strategy === 'blue-green' && s.step === 1 ? s.policy.rollbackWindow : s.policy.stepInterval;
}

export function onAnalysis(
  s: RolloutState,
  verdict: Verdict,
  stats: SequentialStats,
  until: number,
  now: number,
): Transition {
  const base: RolloutState = { ...s, lastVerdict: verdict, stats, lastAnalysisAt: until, updatedAt: now };
  const note: Effect = {
    type: 'emit',
    kind: 'analysis',
    message: `${verdict.result}: ${verdict.reason}`,
    data: { verdict },
  };
  // No judgement before the canary's first traffic; while a later gate is asked, only a failure counts.
  if (s.gate?.name === 'beforeTraffic' || (s.gate && verdict.result !== 'fail')) return ok(base, [note]);
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
      // The tests start over after a failure (fresh evidence); the step may not pass before a full
      // step's time since it, so the confirmation has the data to come. The step no longer passed, so
      // a gate it was waiting for is asked again once it passes again.
      return ok({ ...base, failures, failedAt: now, gate: undefined }, [note]);
    }
    case 'pass': {
      // After a failure the tests started again: a pass on the little data since is no evidence of
      // health, so the failure stands until a step's time has passed since it.
      const since = Math.max(s.stepStartedAt, s.failedAt ?? 0);
      const confirming = s.failures > 0 && now - (s.failedAt ?? 0) < stepDuration(s);
      const passed = { ...base, failures: confirming ? s.failures : 0 };
      if (now - since < stepDuration(s)) return ok(passed, [note]);
      const gate = gateBefore(s);
      if (gate === null) return advance(passed, now, 'analysis passed');
      const { state, effect } = awaitGate(passed, gate, now);
      return ok(state, [note, effect]);
    }
    case 'inconclusive': {
      if (now - s.stepStartedAt < s.policy.progressDeadline) return ok(base, [note]);
      const deadline = `progress deadline (${s.policy.progressDeadline / 1000}s)`;
      const reason = `${deadline} passed without a decision: ${verdict.reason}`;
      if (s.policy.onDeadline === 'rollback') return rollback(base, now, reason, 'rolled-back');
      return ok({ ...base, phase: 'paused', resumeTo: 'progressing', reason }, [
        { type: 'emit', kind: 'paused', message: reason, data: { verdict } },
      ]);
    }
    default:
      return assertNever(verdict.result, 'verdict');
  }
}
