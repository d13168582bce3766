// Rollout gates in the pure machine: where a rollout waits for a gate, what a pass and a refusal do,
// what a persistent refusal does under each onGateFailure, and what the leader owes meanwhile.
import { describe, expect, it } from 'vitest';
import { emptyStats } from '../../../src/analysis/judge.js';
import { rolloutPolicySchema } from '../../../src/config/schema.js';
import type { GateAnswer, GateName } from '../../../src/domain/gate.js';
import { PHASES, type RolloutState, type Strategy, type VerdictResult } from '../../../src/domain/rollout.js';
import { dutyOf } from '../../../src/rollout/duty.js';
import { gateRequest, nextAskAt } from '../../../src/rollout/gate-wait.js';
import { newRollout, transition, type Effect, type MachineEvent } from '../../../src/rollout/machine.js';

const T0 = 1_700_000_000_000;
const S = 1_000;
const URL = 'http://127.0.0.1:7000/gate';

function fresh(overrides: Record<string, unknown> = {}, strategy: Strategy = 'canary'): RolloutState {
  const policy = rolloutPolicySchema.parse({ strategy, stepInterval: '10s', progressDeadline: '60s', ...overrides });
  const base = { id: 'r1', service: 'web', strategy, policy, stats: emptyStats() };
  return newRollout({ ...base, canaryTargets: ['127.0.0.1:9101'], stableTargets: ['127.0.0.1:9001'] }, T0);
}

function step(s: RolloutState, e: MachineEvent, now: number): { state: RolloutState; effects: Effect[] } {
  const t = transition(s, e, now);
  if (!t.ok) throw new Error(`unexpected rejection: ${t.message}`);
  return t;
}

const analysis = (result: VerdictResult): MachineEvent => {
  const pool = { requests: 0, errors: 0, errorRate: 0, p99Ms: 0 };
  const verdict = { result, failFast: false, reason: result, checks: [], canary: pool, stable: pool, at: 0 };
  return { type: 'analysis', verdict, stats: emptyStats(), until: 0 };
};

const PASS: GateAnswer = { passed: true, status: 200, error: null, firstLine: 'ok', attempts: 1 };
const REFUSED: GateAnswer = { passed: false, status: 503, error: null, firstLine: 'smoke failed', attempts: 3 };
const TIMED_OUT: GateAnswer = {
  passed: false,
  status: null,
  error: 'no answer within 1s (timeout)',
  firstLine: '',
  attempts: 1,
};

function answer(s: RolloutState, a: GateAnswer): MachineEvent {
  const wait = s.gate;
  if (!wait) throw new Error('no gate pending');
  return { type: 'gate', gate: wait.name, since: wait.since, answer: a };
}

const kinds = (effects: Effect[]): string[] => effects.map((e) => e.kind);

/** A rollout at `stepIndex` whose step time is over, after an analysis that passed. */
function passedStep(gates: Partial<Record<GateName, string>>, stepIndex: number, strategy: Strategy = 'canary') {
  let s = step(fresh({ gates }, strategy), { type: 'canary-ready' }, T0).state;
  if (s.gate) s = step(s, answer(s, PASS), T0).state;
  for (let i = 0; i < stepIndex; i++) s = step(s, { type: 'promote', full: false }, T0).state;
  return step(s, analysis('pass'), T0 + 11 * S);
}

describe('beforeTraffic', () => {
  it('the ready canary waits at weight 0 for the gate, and the leader asks it without analysing', () => {
    const { state, effects } = step(fresh({ gates: { beforeTraffic: URL } }), { type: 'canary-ready' }, T0 + S);
    expect(state).toMatchObject({
      phase: 'progressing',
      step: 0,
      weightBp: 0,
      reason: 'waiting for gate beforeTraffic',
    });
    expect(state.gate).toEqual({
      name: 'beforeTraffic',
      since: T0 + S,
      refusals: 0,
      lastAskedAt: null,
      lastRefusal: null,
    });
    expect(state.trafficSince).toBeUndefined();
    expect(kinds(effects)).toEqual(['canary-ready', 'gate']);
    expect(effects[1]?.message).toBe('asking gate beforeTraffic before any traffic reaches the canary');
    expect(dutyOf(state)).toEqual({ type: 'gate', gate: 'beforeTraffic', analyse: false });
    expect(nextAskAt(state)).toBe(T0 + S);
  });

  it('a refusal holds at 0% and is asked again an analysisInterval later; a pass starts the first step', () => {
    const ready = step(fresh({ gates: { beforeTraffic: URL } }), { type: 'canary-ready' }, T0).state;
    const held = step(ready, answer(ready, REFUSED), T0 + 2 * S);
    expect(held.state).toMatchObject({
      phase: 'progressing',
      weightBp: 0,
      reason: 'held by gate beforeTraffic: HTTP 503: smoke failed',
    });
    expect(held.state.gate).toMatchObject({
      refusals: 1,
      lastAskedAt: T0 + 2 * S,
      lastRefusal: 'HTTP 503: smoke failed',
    });
    expect(held.effects).toEqual([
      {
        type: 'emit',
        kind: 'gate',
        message: 'gate beforeTraffic refused (HTTP 503: smoke failed); holding at 0%, asked again every 2s',
        data: {
          gate: 'beforeTraffic',
          passed: false,
          status: 503,
          error: null,
          body: 'smoke failed',
          attempts: 3,
          refusals: 1,
        },
      },
    ]);
    expect(nextAskAt(held.state)).toBe(T0 + 4 * S);

    const passed = step(held.state, answer(held.state, PASS), T0 + 4 * S);
    expect(passed.state).toMatchObject({
      phase: 'progressing',
      step: 0,
      weightBp: 500,
      reason: null,
      trafficSince: T0 + 4 * S,
      stepStartedAt: T0 + 4 * S,
      lastAnalysisAt: T0 + 4 * S,
    });
    expect(passed.state.gate).toBeUndefined();
    expect(passed.effects.map((e) => e.message)).toEqual([
      'gate beforeTraffic passed (HTTP 200: ok)',
      'step 1/5: canary weight 5% (gate beforeTraffic passed)',
    ]);
    expect(dutyOf(passed.state)).toEqual({ type: 'analyse' });
  });

  it('blue-green: the preview waits for it too', () => {
    const ready = step(fresh({ gates: { beforeTraffic: URL } }, 'blue-green'), { type: 'canary-ready' }, T0).state;
    expect(ready.gate?.name).toBe('beforeTraffic');
    const passed = step(ready, answer(ready, PASS), T0 + S);
    expect(passed.state).toMatchObject({ weightBp: 0, step: 0, trafficSince: T0 + S });
    expect(passed.effects[1]?.message).toBe('preview through the override header only (gate beforeTraffic passed)');
  });

  it('an operator promote is the approval: "next step" starts the traffic, without asking', () => {
    const ready = step(fresh({ gates: { beforeTraffic: URL } }), { type: 'canary-ready' }, T0).state;
    const promoted = step(ready, { type: 'promote', full: false }, T0 + S);
    expect(promoted.state).toMatchObject({ step: 0, weightBp: 500, trafficSince: T0 + S });
    expect(promoted.state.gate).toBeUndefined();
    expect(step(ready, { type: 'promote', full: true }, T0 + S).state).toMatchObject({ phase: 'promoting' });
  });
});

describe('persistent refusals (progressDeadline after the gate fell due)', () => {
  const waiting = (onGateFailure: string): RolloutState =>
    step(fresh({ gates: { beforeTraffic: URL }, onGateFailure }), { type: 'canary-ready' }, T0).state;

  it('hold: pauses with the gate named; resume asks again at once with a fresh deadline', () => {
    const s = waiting('hold');
    expect(step(s, answer(s, REFUSED), T0 + 59 * S).state.phase).toBe('progressing');
    const { state, effects } = step(s, answer(s, TIMED_OUT), T0 + 60 * S);
    const reason =
      'paused: gate beforeTraffic still refused after 60s (progressDeadline): no answer within 1s (timeout)';
    expect(state).toMatchObject({ phase: 'paused', resumeTo: 'progressing', weightBp: 0, reason });
    expect(kinds(effects)).toEqual(['gate', 'paused']);
    expect(dutyOf(state)).toEqual({ type: 'none' });

    const resumed = step(state, { type: 'resume' }, T0 + 100 * S).state;
    expect(resumed).toMatchObject({ phase: 'progressing', weightBp: 0 });
    expect(resumed.gate).toMatchObject({ name: 'beforeTraffic', since: T0 + 100 * S, lastAskedAt: null });
    expect(nextAskAt(resumed)).toBe(T0 + 100 * S);
    expect(step(resumed, answer(resumed, REFUSED), T0 + 101 * S).state.phase).toBe('progressing');
  });

  it('rollback: rolls back with the gate and its answer as the reason', () => {
    const s = waiting('rollback');
    const { state, effects } = step(s, answer(s, REFUSED), T0 + 61 * S);
    const reason = 'rolled back: gate beforeTraffic still refused after 60s (progressDeadline): HTTP 503: smoke failed';
    expect(state).toMatchObject({ phase: 'rolling-back', weightBp: 0, reason, rollbackOutcome: 'rolled-back' });
    expect(state.gate).toBeUndefined();
    expect(kinds(effects)).toEqual(['gate', 'rolling-back']);
    expect(step(state, { type: 'drained' }, T0 + 62 * S).state).toMatchObject({ phase: 'rolled-back', reason });
  });
});

describe('beforeEachStep and beforePromotion', () => {
  it('a passed step waits for beforeEachStep at its weight; analyses go on; a pass moves to the next step', () => {
    const { state, effects } = passedStep({ beforeEachStep: URL }, 0);
    expect(state).toMatchObject({ phase: 'progressing', step: 0, weightBp: 500 });
    expect(state.gate?.name).toBe('beforeEachStep');
    expect(effects.map((e) => e.message)).toEqual(['pass: pass', 'asking gate beforeEachStep before step 2/5 (10%)']);
    expect(dutyOf(state)).toEqual({ type: 'gate', gate: 'beforeEachStep', analyse: true });
    expect(gateRequest(state, 'beforeEachStep')).toEqual({
      service: 'web',
      rolloutId: 'r1',
      gate: 'beforeEachStep',
      strategy: 'canary',
      phase: 'progressing',
      step: 0,
      weight: 5,
      nextWeight: 10,
      canary: { targets: ['127.0.0.1:9101'] },
      stable: { targets: ['127.0.0.1:9001'] },
      refusals: 0,
    });

    // Passing and inconclusive analyses while the gate is asked neither advance nor pause the step.
    const later = step(state, analysis('pass'), T0 + 80 * S).state;
    expect(later).toMatchObject({ step: 0, weightBp: 500, phase: 'progressing', gate: state.gate });
    expect(step(later, analysis('inconclusive'), T0 + 200 * S).state).toMatchObject({ phase: 'progressing', step: 0 });

    const next = step(later, answer(later, PASS), T0 + 81 * S);
    expect(next.state).toMatchObject({ step: 1, weightBp: 1000, stepStartedAt: T0 + 81 * S });
    expect(next.state.gate).toBeUndefined();
    expect(next.effects[1]?.message).toBe('step 2/5: canary weight 10% (analysis and gate beforeEachStep passed)');
  });

  it('a failed analysis while the gate is asked: the step must pass (and ask) again; failureLimit rolls back', () => {
    const { state } = passedStep({ beforeEachStep: URL }, 0);
    const failed = step(state, analysis('fail'), T0 + 12 * S).state;
    expect(failed.gate).toBeUndefined();
    expect(failed.failures).toBe(1);
    expect(transition(failed, answer(state, PASS), T0 + 13 * S).ok).toBe(false);
    expect(step(failed, analysis('fail'), T0 + 14 * S).state.phase).toBe('rolling-back');
  });

  it('the last judged step asks beforePromotion (not beforeEachStep); its pass promotes', () => {
    expect(passedStep({ beforeEachStep: URL }, 3).state.phase).toBe('promoting');
    const { state } = passedStep({ beforeEachStep: URL, beforePromotion: URL }, 3);
    expect(state.gate?.name).toBe('beforePromotion');
    expect(gateRequest(state, 'beforePromotion')).toMatchObject({ step: 3, weight: 50, nextWeight: 100 });
    expect(step(state, answer(state, PASS), T0 + 12 * S).state).toMatchObject({ phase: 'promoting', weightBp: 10000 });
  });

  it('blue-green asks beforePromotion before its switch, and not again at the end of the rollback window', () => {
    const { state } = passedStep({ beforePromotion: URL }, 0, 'blue-green');
    expect(state.gate?.name).toBe('beforePromotion');
    const switched = step(state, answer(state, PASS), T0 + 12 * S).state;
    expect(switched).toMatchObject({ step: 1, weightBp: 10000, phase: 'progressing' });
    const windowOver = T0 + 12 * S + switched.policy.rollbackWindow;
    expect(step(switched, analysis('pass'), windowOver).state.phase).toBe('promoting');
  });

  it('without gates, and for records written before gates existed, nothing waits', () => {
    expect(passedStep({}, 0).state).toMatchObject({ step: 1, weightBp: 1000 });
    const old = fresh({ gates: { beforeEachStep: URL } });
    const { gates: _gone, ...policy } = old.policy;
    void _gone;
    const legacy = { ...old, policy: policy as RolloutState['policy'] };
    const ready = step(legacy, { type: 'canary-ready' }, T0).state;
    expect(ready.weightBp).toBe(500);
    expect(step(ready, analysis('pass'), T0 + 11 * S).state.step).toBe(1);
  });
});

describe('answers that no longer fit', () => {
  it('are refused in every phase unless that very wait is pending', () => {
    const ready = step(fresh({ gates: { beforeTraffic: URL } }), { type: 'canary-ready' }, T0).state;
    const stale: MachineEvent = { type: 'gate', gate: 'beforeTraffic', since: T0 - 1, answer: PASS };
    expect(transition(ready, stale, T0 + S)).toMatchObject({ ok: false, code: 'invalid_phase' });
    const other: MachineEvent = { type: 'gate', gate: 'beforeEachStep', since: T0, answer: PASS };
    expect(transition(ready, other, T0 + S).ok).toBe(false);
    const paused = step(ready, { type: 'pause', reason: 'hold on' }, T0 + S).state;
    expect(transition(paused, answer(ready, PASS), T0 + 2 * S).ok).toBe(false);
    for (const phase of PHASES) {
      const s = { ...ready, phase };
      expect(transition(s, answer(ready, PASS), T0 + S).ok, phase).toBe(phase === 'progressing');
    }
  });

  it('an abort while a gate is asked rolls back and leaves no gate pending', () => {
    const ready = step(fresh({ gates: { beforeTraffic: URL } }), { type: 'canary-ready' }, T0).state;
    const aborted = step(ready, { type: 'abort', reason: 'stop' }, T0 + S).state;
    expect(aborted).toMatchObject({ phase: 'rolling-back', rollbackOutcome: 'aborted' });
    expect(aborted.gate).toBeUndefined();
    expect(dutyOf(aborted)).toEqual({ type: 'retire', pool: 'canary' });
  });
});
