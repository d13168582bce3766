// What a gate's answer does to a rollout waiting for it: a pass lets it go on at once (traffic
// starts, the next step, promotion); a refusal holds it where it is, and one still coming
// progressDeadline after the gate fell due pauses the rollout or rolls it back (onGateFailure). Pure.
import { assertNever } from '../domain/errors.js';
import { answerText, type GateAnswer, type GateName, type GateWait } from '../domain/gate.js';
import type { RolloutState } from '../domain/rollout.js';
import type { Effect, Transition } from './machine.js';
import { advance, firstStep, ok, pctOf, rollback } from './progression.js';

/** `s.gate` is the gate answered (the machine checked). */
export function onGateAnswer(s: RolloutState, wait: GateWait, answer: GateAnswer, now: number): Transition {
  const text = answerText(answer);
  const data = {
    gate: wait.name,
    passed: answer.passed,
    status: answer.status,
    error: answer.error,
    body: answer.firstLine,
    attempts: answer.attempts,
  };
  if (answer.passed) {
    const note: Effect = { type: 'emit', kind: 'gate', message: `gate ${wait.name} passed (${text})`, data };
    const t = proceed(s, wait.name, now);
    return t.ok ? { ...t, effects: [note, ...t.effects] } : t;
  }
  const refusals = wait.refusals + 1;
  const held: RolloutState = {
    ...s,
    gate: { ...wait, refusals, lastAskedAt: now, lastRefusal: text },
    reason: `held by gate ${wait.name}: ${text}`,
    updatedAt: now,
  };
  const refused: Effect = {
    type: 'emit',
    kind: 'gate',
    message:
      `gate ${wait.name} refused (${text}); holding at ${pctOf(s.weightBp)}%, ` +
      `asked again every ${s.policy.analysisInterval / 1000}s`,
    data: { ...data, refusals },
  };
  const deadline = s.policy.progressDeadline;
  if (now - wait.since < deadline) return ok(held, [refused]);
  const reason = `gate ${wait.name} still refused after ${deadline / 1000}s (progressDeadline): ${text}`;
  const policy = s.policy.onGateFailure ?? 'hold';
  switch (policy) {
    case 'rollback': {
      const t = rollback(held, now, `rolled back: ${reason}`, 'rolled-back');
      return t.ok ? { ...t, effects: [refused, ...t.effects] } : t;
    }
    case 'hold': {
      const paused: RolloutState = { ...held, phase: 'paused', resumeTo: 'progressing', reason: `paused: ${reason}` };
      return ok(paused, [refused, { type: 'emit', kind: 'paused', message: paused.reason ?? reason }]);
    }
    default:
      return assertNever(policy, 'onGateFailure');
  }
}

function proceed(s: RolloutState, name: GateName, now: number): Transition {
  const cleared: RolloutState = { ...s, gate: undefined, reason: null };
  return name === 'beforeTraffic'
    ? startTraffic(cleared, now, `gate ${name} passed`)
    : advance(cleared, now, `analysis and gate ${name} passed`);
}

/** The first step (blue-green: the preview) begins without waiting further. */
export function startTraffic(s: RolloutState, now: number, why: string): Transition {
  const next = firstStep(s, now);
  const message =
    s.strategy === 'canary'
      ? `step 1/${s.policy.steps.length}: canary weight ${pctOf(next.weightBp)}% (${why})`
      : `preview through the override header only (${why})`;
  return ok(next, [{ type: 'emit', kind: 'step', message }]);
}
