// The rollout state machine: a pure transition(state, event, now) → next state + effects. The state
// is all that routing needs (routing is a projection of it, see domain/route.ts), and what a phase
// still owes - a launch, analyses, draining and removing a pool - follows from the phase (duty.ts),
// so the only effects left are the events that say what happened.
import { assertNever } from '../domain/errors.js';
import type { GateAnswer, GateName } from '../domain/gate.js';
import type {
  EventKind,
  Phase,
  RolloutPolicy,
  RolloutState,
  SequentialStats,
  Strategy,
  Verdict,
} from '../domain/rollout.js';
import { onGateAnswer, startTraffic } from './gate-answer.js';
import { awaitGate, gateConfig } from './gate-wait.js';
import { advance, firstStep, invalid, ok, onAnalysis, pctOf, promote, rollback } from './progression.js';

export type MachineEvent =
  /** `targets`: the canary's addresses once known (containers created by the rollout). */
  | { type: 'canary-ready'; targets?: string[] }
  | { type: 'canary-failed'; reason: string }
  /** The canary's containers no longer run (canary-presence.ts): the stable pool is all there is. */
  | { type: 'canary-gone'; reason: string }
  /** veer restarted mid-rollout with onRestart: rollback. */
  | { type: 'interrupted'; reason: string }
  /** `until`: the analysed data ends just before this time (whole seconds). */
  | { type: 'analysis'; verdict: Verdict; stats: SequentialStats; until: number; warning?: string }
  /** The answer to the gate the rollout waits for; `since`: that wait's (a later wait ignores it). */
  | { type: 'gate'; gate: GateName; since: number; answer: GateAnswer }
  | { type: 'promote'; full: boolean }
  | { type: 'abort'; reason: string }
  | { type: 'pause'; reason: string }
  | { type: 'resume' }
  | { type: 'manual-shift'; weightBp: number }
  | { type: 'drained' };

export type Effect = { type: 'emit'; kind: EventKind; message: string; data?: Record<string, unknown> };

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

const ACTIVE: readonly Phase[] = ['starting', 'progressing', 'paused'];
/**
 * Where a vanished canary rolls the rollout back: once ready, and while the old pool is still there to go back
 * to (promoting: the guard keeps it until the new one runs). While starting, the launch itself reports it.
 */
const LOSABLE: readonly Phase[] = ['progressing', 'paused', 'promoting'];

/** Whether a rollout in `phase` can be aborted (one rolling back or promoting already ends). */
export const abortable = (phase: Phase): boolean => ACTIVE.includes(phase);

export function transition(s: RolloutState, e: MachineEvent, now: number): Transition {
  switch (e.type) {
    case 'canary-ready':
      return s.phase === 'starting' ? ready(s, e.targets, now) : invalid(s, 'mark ready');
    case 'canary-failed':
      return s.phase === 'starting' ? rollback(s, now, e.reason, 'rolled-back') : invalid(s, 'fail the start of');
    case 'canary-gone':
      return LOSABLE.includes(s.phase) ? rollback(s, now, e.reason, 'rolled-back') : invalid(s, 'roll back');
    case 'analysis':
      return s.phase === 'progressing'
        ? warned(onAnalysis(s, e.verdict, e.stats, e.until, now), e.warning)
        : invalid(s, 'analyse');
    case 'gate':
      return s.phase === 'progressing' && s.gate?.name === e.gate && s.gate.since === e.since
        ? onGateAnswer(s, s.gate, e.answer, now)
        : invalid(s, `take gate ${e.gate}'s answer for`);
    case 'promote':
      // A rollout paused before its canary was ready has nothing promotable yet.
      if (s.phase !== 'progressing' && !(s.phase === 'paused' && s.resumeTo !== 'starting'))
        return invalid(s, 'promote');
      // The operator's word is the approval: no gate is asked. "Next step" before any traffic is the first.
      if (!e.full && s.gate?.name === 'beforeTraffic') return startTraffic(s, now, 'promoted by operator');
      return e.full ? promote(s, now, 'promoted by operator (full)') : advance(s, now, 'promoted by operator');
    case 'abort':
      return ACTIVE.includes(s.phase) ? rollback(s, now, e.reason, 'aborted') : invalid(s, 'abort');
    case 'interrupted':
      return ACTIVE.includes(s.phase)
        ? rollback(s, now, e.reason, 'rolled-back')
        : invalid(s, 'roll back after a restart');
    case 'pause':
      if (s.phase !== 'progressing' && s.phase !== 'starting') return invalid(s, 'pause');
      return ok({ ...s, phase: 'paused', resumeTo: s.phase, reason: e.reason, updatedAt: now }, [
        { type: 'emit', kind: 'paused', message: e.reason },
      ]);
    case 'resume':
      return s.phase === 'paused' ? resume(s, now) : invalid(s, 'resume');
    case 'manual-shift':
      return ACTIVE.includes(s.phase) ? shifted(s, e.weightBp, now) : invalid(s, 'shift traffic during');
    case 'drained':
      return drained(s, now);
    default:
      return assertNever(e, 'event');
  }
}

/** A warning about the rollout (too little traffic for its steps) goes out before what the analysis did. */
function warned(t: Transition, warning: string | undefined): Transition {
  if (!t.ok || warning === undefined) return t;
  return { ...t, effects: [{ type: 'emit', kind: 'warning', message: warning }, ...t.effects] };
}

function ready(s: RolloutState, targets: string[] | undefined, now: number): Transition {
  const known = { ...s, canaryTargets: targets ?? s.canaryTargets };
  if (gateConfig(s, 'beforeTraffic')) {
    // Routed at weight 0 (reachable by its targets or the override header) until the gate passes.
    const held = { ...known, phase: 'progressing' as const, stepStartedAt: now, lastAnalysisAt: now };
    const { state, effect } = awaitGate(held, 'beforeTraffic', now);
    const message = `canary ready; asking gate beforeTraffic before it gets any traffic`;
    return ok(state, [{ type: 'emit', kind: 'canary-ready', message }, effect]);
  }
  const next = firstStep(known, now);
  const message =
    s.strategy === 'canary'
      ? `canary ready; step 1/${s.policy.steps.length}: canary weight ${pctOf(next.weightBp)}%`
      : 'new pool ready; preview through the override header only';
  return ok(next, [{ type: 'emit', kind: 'canary-ready', message }]);
}

function resume(s: RolloutState, now: number): Transition {
  // The step's clock restarts: the time spent paused is not evidence. The accumulated sequential
  // statistics are kept.
  const next: RolloutState = {
    ...s,
    phase: s.resumeTo ?? 'progressing',
    resumeTo: null,
    reason: null,
    stepStartedAt: now,
    failures: 0,
    // A gate the rollout waited for is asked again at once, with its deadline from now.
    gate: s.gate ? { ...s.gate, since: now, lastAskedAt: null } : undefined,
    updatedAt: now,
  };
  return ok(next, [{ type: 'emit', kind: 'resumed', message: `resumed at ${pctOf(s.weightBp)}%` }]);
}

function shifted(s: RolloutState, weightBp: number, now: number): Transition {
  const reason = `paused: traffic shifted by hand to ${pctOf(weightBp)}%`;
  const next: RolloutState = {
    ...s,
    phase: 'paused',
    resumeTo: s.phase === 'paused' ? s.resumeTo : (s.phase as 'starting' | 'progressing'),
    weightBp,
    reason,
    updatedAt: now,
  };
  return ok(next, [{ type: 'emit', kind: 'paused', message: reason }]);
}

function drained(s: RolloutState, now: number): Transition {
  if (s.phase === 'promoting')
    return ok({ ...s, phase: 'succeeded', updatedAt: now }, [
      {
        type: 'emit',
        kind: 'succeeded',
        message: 'rollout succeeded: the new pool is stable, the old pool was removed',
      },
    ]);
  if (s.phase !== 'rolling-back') return invalid(s, 'finish draining');
  const outcome = s.rollbackOutcome ?? 'rolled-back';
  const message = `${outcome}: ${s.reason ?? ''}`.trim();
  // The verdict travels with the outcome too, so a notification of the end can show its evidence.
  const data = outcome === 'rolled-back' && s.lastVerdict ? { data: { verdict: s.lastVerdict } } : {};
  return ok({ ...s, phase: outcome, updatedAt: now }, [{ type: 'emit', kind: outcome, message, ...data }]);
}
