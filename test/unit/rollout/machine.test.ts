import { describe, expect, it } from 'vitest';
import { emptyStats } from '../../../src/analysis/judge.js';
import { rolloutPolicySchema } from '../../../src/config/schema.js';
import {
  PHASES,
  type Phase,
  type RolloutState,
  type SequentialStats,
  type Strategy,
  type Verdict,
  type VerdictResult,
} from '../../../src/domain/rollout.js';
import { newRollout, transition, type Effect, type MachineEvent } from '../../../src/rollout/machine.js';
import { lastJudgedStep } from '../../../src/rollout/progression.js';

const T0 = 1_700_000_000_000;
const S = 1_000;
const CANARY = ['127.0.0.1:9101', '127.0.0.1:9102'];
const STABLE = ['127.0.0.1:9001'];

function fresh(strategy: Strategy = 'canary', overrides: Record<string, unknown> = {}): RolloutState {
  const policy = rolloutPolicySchema.parse({ strategy, ...overrides });
  return newRollout(
    { id: 'r1', service: 'web', strategy, policy, canaryTargets: CANARY, stableTargets: STABLE, stats: emptyStats() },
    T0,
  );
}

function verdict(result: VerdictResult, failFast = false, reason = `${result} reason`): Verdict {
  const pool = { requests: 0, errors: 0, errorRate: 0, p99Ms: 0 };
  return { result, failFast, reason, checks: [], canary: pool, stable: pool, at: 0 };
}

function markedStats(mark: number): SequentialStats {
  return { ...emptyStats(), errorAbs: [mark] };
}

const analysis = (result: VerdictResult, failFast = false, until = 0): MachineEvent => ({
  type: 'analysis',
  verdict: verdict(result, failFast),
  stats: emptyStats(),
  until,
});

/** Applies an event that must be valid. */
function step(s: RolloutState, e: MachineEvent, now: number): { state: RolloutState; effects: Effect[] } {
  const t = transition(s, e, now);
  if (!t.ok) throw new Error(`unexpected rejection: ${t.message}`);
  return { state: t.state, effects: t.effects };
}

const types = (effects: Effect[]): string[] => effects.map((e) => `${e.type}:${e.kind}`);

/** A canary rollout that became ready at `at` (progressing at step 0, 5%). */
function progressing(overrides: Record<string, unknown> = {}, at = T0, strategy: Strategy = 'canary'): RolloutState {
  return step(fresh(strategy, overrides), { type: 'canary-ready' }, at).state;
}

const ROLLBACK_EFFECTS = ['emit:rolling-back'];
const PROMOTE_EFFECTS = ['emit:promoting'];

/** A state in each phase, reached through real transitions. */
function inPhase(phase: Phase): RolloutState {
  const prog = progressing();
  switch (phase) {
    case 'starting':
      return fresh();
    case 'progressing':
      return prog;
    case 'paused':
      return step(prog, { type: 'pause', reason: 'hold' }, T0 + S).state;
    case 'promoting':
      return step(prog, { type: 'promote', full: true }, T0 + S).state;
    case 'succeeded':
      return step(inPhase('promoting'), { type: 'drained' }, T0 + 2 * S).state;
    case 'rolling-back':
      return step(prog, { type: 'abort', reason: 'stop' }, T0 + S).state;
    case 'rolled-back':
      return step(step(fresh(), { type: 'canary-failed', reason: 'unhealthy' }, T0).state, { type: 'drained' }, T0 + S)
        .state;
    case 'aborted':
      return step(inPhase('rolling-back'), { type: 'drained' }, T0 + 2 * S).state;
  }
}

const EVENTS: Array<{ e: MachineEvent; valid: Phase[] }> = [
  { e: { type: 'canary-ready' }, valid: ['starting'] },
  { e: { type: 'canary-failed', reason: 'unhealthy' }, valid: ['starting'] },
  { e: { type: 'canary-gone', reason: 'gone' }, valid: ['progressing', 'paused', 'promoting'] },
  { e: analysis('pass'), valid: ['progressing'] },
  { e: analysis('fail', true), valid: ['progressing'] },
  { e: analysis('inconclusive'), valid: ['progressing'] },
  { e: { type: 'promote', full: false }, valid: ['progressing', 'paused'] },
  { e: { type: 'promote', full: true }, valid: ['progressing', 'paused'] },
  { e: { type: 'abort', reason: 'stop' }, valid: ['starting', 'progressing', 'paused'] },
  { e: { type: 'pause', reason: 'hold' }, valid: ['starting', 'progressing'] },
  { e: { type: 'resume' }, valid: ['paused'] },
  { e: { type: 'manual-shift', weightBp: 2500 }, valid: ['starting', 'progressing', 'paused'] },
  { e: { type: 'drained' }, valid: ['promoting', 'rolling-back'] },
];

describe('every phase × every event', () => {
  for (const phase of PHASES) {
    for (const { e, valid } of EVENTS) {
      const full = 'full' in e ? `(full=${e.full})` : '';
      const verdict = e.type === 'analysis' ? `(${e.verdict.result})` : '';
      const label = `${e.type}${full}${verdict}`;
      it(`${phase} + ${label} → ${valid.includes(phase) ? 'accepted' : 'invalid_phase'}`, () => {
        const s = inPhase(phase);
        expect(s.phase).toBe(phase);
        const before = structuredClone(s);
        const t = transition(s, e, T0 + 60 * S);
        expect(s).toEqual(before); // pure: the input state is never mutated
        if (valid.includes(phase)) {
          expect(t.ok).toBe(true);
          if (t.ok) expect(t.state.updatedAt).toBe(T0 + 60 * S);
        } else {
          expect(t).toEqual({
            ok: false,
            code: 'invalid_phase',
            message: expect.stringMatching(new RegExp(`^cannot .* rollout r1 of web: phase is ${phase}$`)),
          });
        }
      });
    }
  }

  it('terminal phases reject every event', () => {
    for (const phase of ['succeeded', 'rolled-back', 'aborted'] as const) {
      const s = inPhase(phase);
      for (const { e } of EVENTS) expect(transition(s, e, T0 + 60 * S).ok, `${phase} + ${e.type}`).toBe(false);
    }
  });
});

describe('start', () => {
  it('a new rollout starts at weight 0 with clean counters', () => {
    const s = fresh();
    expect(s).toMatchObject({
      phase: 'starting',
      step: 0,
      weightBp: 0,
      failures: 0,
      reason: null,
      lastVerdict: null,
      resumeTo: null,
      rollbackOutcome: null,
      stepStartedAt: T0,
      lastAnalysisAt: T0,
      startedAt: T0,
      updatedAt: T0,
    });
  });

  it('canary-ready sets the first step weight, then announces it', () => {
    const { state, effects } = step(fresh(), { type: 'canary-ready' }, T0 + 3 * S);
    expect(effects).toEqual([
      { type: 'emit', kind: 'canary-ready', message: 'canary ready; step 1/5: canary weight 5%' },
    ]);
    expect(state).toMatchObject({
      phase: 'progressing',
      step: 0,
      weightBp: 500,
      stepStartedAt: T0 + 3 * S,
      lastAnalysisAt: T0 + 3 * S,
    });
  });

  it('canary-failed rolls back: weight 0, announce, remove the canary pool', () => {
    const { state, effects } = step(fresh(), { type: 'canary-failed', reason: 'health check timed out' }, T0 + S);
    expect(effects).toEqual([
      { type: 'emit', kind: 'rolling-back', message: 'health check timed out', data: { verdict: null } },
    ]);
    expect(state).toMatchObject({
      phase: 'rolling-back',
      weightBp: 0,
      reason: 'health check timed out',
      rollbackOutcome: 'rolled-back',
    });
  });
});

describe('canary steps: time AND a passing analysis', () => {
  it('promotes after the last step below 100% (a 100% step has no control group); a lone 100 is judged', () => {
    expect(lastJudgedStep([5, 10, 25, 50, 100])).toBe(3);
    expect(lastJudgedStep([5, 100])).toBe(0);
    expect(lastJudgedStep([10, 40])).toBe(1);
    expect(lastJudgedStep([100])).toBe(0);
    const two = step(progressing({ steps: [5, 100] }), analysis('pass'), T0 + 30 * S);
    expect(two.state).toMatchObject({ phase: 'promoting', weightBp: 10000 });
    const lone = progressing({ steps: [100] });
    expect(lone.weightBp).toBe(10000);
    expect(step(lone, analysis('pass'), T0 + 30 * S).state.phase).toBe('promoting');
  });

  it('a pass before stepInterval holds and records the verdict, stats and analysed range', () => {
    const s = progressing();
    const v = verdict('pass');
    const stats = markedStats(7);
    const { state, effects } = step(s, { type: 'analysis', verdict: v, stats, until: T0 + 29 * S }, T0 + 30 * S - 1);
    expect(effects).toEqual([{ type: 'emit', kind: 'analysis', message: 'pass: pass reason', data: { verdict: v } }]);
    expect(state).toMatchObject({
      phase: 'progressing',
      step: 0,
      weightBp: 500,
      failures: 0,
      lastAnalysisAt: T0 + 29 * S,
    });
    expect(state.lastVerdict).toBe(v);
    expect(state.stats).toBe(stats);
  });

  it('a pass once stepInterval has elapsed advances one step and restarts the step clock', () => {
    const { state, effects } = step(progressing(), analysis('pass'), T0 + 30 * S);
    expect(effects).toEqual([{ type: 'emit', kind: 'step', message: 'step 2/5: canary weight 10% (analysis passed)' }]);
    expect(state).toMatchObject({
      phase: 'progressing',
      step: 1,
      weightBp: 1000,
      stepStartedAt: T0 + 30 * S,
      failures: 0,
      reason: null,
    });
  });

  it('elapsed time alone never advances: inconclusive after stepInterval holds', () => {
    const { state, effects } = step(progressing(), analysis('inconclusive'), T0 + 120 * S);
    expect(types(effects)).toEqual(['emit:analysis']);
    expect(state).toMatchObject({ phase: 'progressing', step: 0, weightBp: 500 });
  });

  // A 100% step has no stable traffic to judge the canary against: the canary is promoted once the
  // last step with a control group (50%) passes.
  it('walks 5 → 10 → 25 → 50 %, then promotes when the last step below 100 passes', () => {
    let s = progressing();
    const weights: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const r = step(s, analysis('pass'), T0 + i * 30 * S);
      expect(types(r.effects)).toEqual(['emit:step']);
      weights.push(r.state.weightBp);
      s = r.state;
    }
    expect(weights).toEqual([1000, 2500, 5000]);
    expect(step(s, analysis('pass'), T0 + 120 * S - 1).state.phase).toBe('progressing');
    const { state, effects } = step(s, analysis('pass'), T0 + 120 * S);
    expect(effects).toEqual([{ type: 'emit', kind: 'promoting', message: 'analysis passed; promoting' }]);
    expect(state).toMatchObject({ phase: 'promoting', weightBp: 10000, step: 3 });
    const done = step(state, { type: 'drained' }, T0 + 160 * S);
    expect(done.state.phase).toBe('succeeded');
    expect(done.effects).toEqual([
      {
        type: 'emit',
        kind: 'succeeded',
        message: 'rollout succeeded: the new pool is stable, the old pool was removed',
      },
    ]);
  });
});

describe('progress deadline', () => {
  it('inconclusive holds until progressDeadline, then pauses with a reason; never promotes', () => {
    let s = progressing();
    for (let t = 2 * S; t < 600 * S; t += 2 * S) {
      const r = step(s, analysis('inconclusive', false, T0 + t), T0 + t);
      expect(types(r.effects)).toEqual(['emit:analysis']);
      s = r.state;
    }
    expect(s).toMatchObject({ phase: 'progressing', weightBp: 500, step: 0 });
    const v = verdict('inconclusive', false, 'not enough data: canary served 150 of 200 requests this step');
    const { state, effects } = step(
      s,
      { type: 'analysis', verdict: v, stats: emptyStats(), until: T0 + 600 * S },
      T0 + 600 * S,
    );
    const reason =
      'progress deadline (600s) passed without a decision: ' +
      'not enough data: canary served 150 of 200 requests this step';
    expect(effects).toEqual([{ type: 'emit', kind: 'paused', message: reason, data: { verdict: v } }]);
    expect(state).toMatchObject({ phase: 'paused', resumeTo: 'progressing', reason, weightBp: 500, step: 0 });
  });

  it('with onDeadline: rollback it rolls back instead', () => {
    const { state, effects } = step(
      progressing({ onDeadline: 'rollback', progressDeadline: '1m' }),
      analysis('inconclusive'),
      T0 + 60 * S,
    );
    expect(types(effects)).toEqual(ROLLBACK_EFFECTS);
    expect(state).toMatchObject({ phase: 'rolling-back', weightBp: 0, rollbackOutcome: 'rolled-back' });
    expect(state.reason).toMatch(/^progress deadline \(60s\) passed without a decision: /);
    expect(
      step(progressing({ onDeadline: 'rollback', progressDeadline: '1m' }), analysis('inconclusive'), T0 + 60 * S - 1)
        .state.phase,
    ).toBe('progressing');
  });

  it('the deadline counts from the start of the current step', () => {
    const s = step(progressing({ progressDeadline: '1m' }), analysis('pass'), T0 + 30 * S).state;
    expect(step(s, analysis('inconclusive'), T0 + 89 * S).state.phase).toBe('progressing');
    expect(step(s, analysis('inconclusive'), T0 + 90 * S).state.phase).toBe('paused');
  });
});

describe('failures', () => {
  it('failureLimit consecutive fails roll back; a pass a step after the failure resets the count', () => {
    let s = progressing();
    s = step(s, analysis('fail'), T0 + 2 * S).state;
    expect(s).toMatchObject({ phase: 'progressing', failures: 1, failedAt: T0 + 2 * S });
    // The tests started again at the failure: a pass on the little data since does not clear it.
    s = step(s, analysis('pass'), T0 + 4 * S).state;
    expect(s.failures).toBe(1);
    // A step's time after the failure, a pass clears it (and the step, that long too, advances).
    s = step(s, analysis('pass'), T0 + 32 * S).state;
    expect(s).toMatchObject({ failures: 0, step: 1 });
    const one = step(s, analysis('fail'), T0 + 34 * S);
    expect(types(one.effects)).toEqual(['emit:analysis']);
    expect(one.state.failures).toBe(1);
    const last = verdict('fail', false, 'canary error rate 3.00% exceeds maxErrorRate 1.00%');
    const { state, effects } = step(
      one.state,
      { type: 'analysis', verdict: last, stats: emptyStats(), until: 0 },
      T0 + 36 * S,
    );
    const reason = 'rolled back (2 failed analyses in a row): canary error rate 3.00% exceeds maxErrorRate 1.00%';
    expect(effects).toEqual([{ type: 'emit', kind: 'rolling-back', message: reason, data: { verdict: last } }]);
    expect(state).toMatchObject({
      phase: 'rolling-back',
      failures: 2,
      weightBp: 0,
      reason,
      rollbackOutcome: 'rolled-back',
      lastVerdict: last,
    });
  });

  it('honours a larger failureLimit', () => {
    let s = progressing({ failureLimit: 3 });
    for (let i = 1; i <= 2; i++) s = step(s, analysis('fail'), T0 + i * 2 * S).state;
    expect(s).toMatchObject({ phase: 'progressing', failures: 2 });
    expect(step(s, analysis('fail'), T0 + 6 * S).state.phase).toBe('rolling-back');
  });

  it('failFast rolls back on the first failed analysis', () => {
    const { state, effects } = step(progressing(), analysis('fail', true), T0 + 2 * S);
    expect(types(effects)).toEqual(ROLLBACK_EFFECTS);
    expect(state.failures).toBe(1);
    expect(state.reason).toBe('rolled back (overwhelming evidence): fail reason');
  });

  it('rolling-back ends in rolled-back once the canary is drained', () => {
    const rb = step(progressing(), analysis('fail', true), T0 + 2 * S).state;
    const { state, effects } = step(rb, { type: 'drained' }, T0 + 5 * S);
    expect(state.phase).toBe('rolled-back');
    expect(effects).toEqual([
      {
        type: 'emit',
        kind: 'rolled-back',
        message: 'rolled-back: rolled back (overwhelming evidence): fail reason',
        data: { verdict: rb.lastVerdict },
      },
    ]);
    expect(rb.lastVerdict?.result).toBe('fail');
  });
});

describe('manual control', () => {
  it('promote {full:false} advances exactly one step', () => {
    const { state, effects } = step(progressing(), { type: 'promote', full: false }, T0 + 5 * S);
    expect(effects).toEqual([
      { type: 'emit', kind: 'step', message: 'step 2/5: canary weight 10% (promoted by operator)' },
    ]);
    expect(state).toMatchObject({ phase: 'progressing', step: 1, stepStartedAt: T0 + 5 * S });
  });

  it('promote {full:false} on the last step, or {full:true} anywhere, promotes', () => {
    let s = progressing();
    for (let i = 0; i < 3; i++) s = step(s, { type: 'promote', full: false }, T0 + i * S).state;
    expect(s.step).toBe(3);
    expect(types(step(s, { type: 'promote', full: false }, T0 + 9 * S).effects)).toEqual(PROMOTE_EFFECTS);
    const full = step(progressing(), { type: 'promote', full: true }, T0 + S);
    expect(types(full.effects)).toEqual(PROMOTE_EFFECTS);
    expect(full.state).toMatchObject({
      phase: 'promoting',
      weightBp: 10000,
      reason: 'promoted by operator (full)',
      step: 0,
    });
  });

  it('promote from paused continues as progressing', () => {
    const { state } = step(inPhase('paused'), { type: 'promote', full: false }, T0 + 9 * S);
    expect(state).toMatchObject({ phase: 'progressing', step: 1, resumeTo: null });
  });

  // A rollout paused while `starting` has no ready canary: promoting it would make an unready pool
  // stable ({full:true}) or route traffic to it ({full:false}).
  it('promote is rejected while paused before the canary was ready', () => {
    const s = step(fresh(), { type: 'pause', reason: 'hold' }, T0 + S).state;
    expect(s.resumeTo).toBe('starting');
    for (const full of [false, true]) {
      const t = transition(s, { type: 'promote', full }, T0 + 2 * S);
      expect(t.ok).toBe(false);
      if (!t.ok) expect(t.code).toBe('invalid_phase');
    }
  });

  it.each(['starting', 'progressing', 'paused'] as const)('abort from %s rolls back and ends aborted', (phase) => {
    const { state, effects } = step(inPhase(phase), { type: 'abort', reason: 'aborted by operator' }, T0 + 9 * S);
    expect(effects).toEqual([
      { type: 'emit', kind: 'rolling-back', message: 'aborted by operator', data: { verdict: null } },
    ]);
    expect(state).toMatchObject({ phase: 'rolling-back', weightBp: 0, rollbackOutcome: 'aborted', resumeTo: null });
    const end = step(state, { type: 'drained' }, T0 + 10 * S);
    expect(end.state.phase).toBe('aborted');
    expect(end.effects).toEqual([{ type: 'emit', kind: 'aborted', message: 'aborted: aborted by operator' }]);
  });

  it('pause keeps the weight; resume restores the phase and restarts the step clock', () => {
    const s = step(progressing(), analysis('fail'), T0 + 20 * S).state;
    const paused = step(s, { type: 'pause', reason: 'looking into it' }, T0 + 25 * S);
    expect(paused.effects).toEqual([{ type: 'emit', kind: 'paused', message: 'looking into it' }]);
    expect(paused.state).toMatchObject({
      phase: 'paused',
      resumeTo: 'progressing',
      reason: 'looking into it',
      weightBp: 500,
    });
    const resumed = step(paused.state, { type: 'resume' }, T0 + 100 * S);
    expect(resumed.effects).toEqual([{ type: 'emit', kind: 'resumed', message: 'resumed at 5%' }]);
    expect(resumed.state).toMatchObject({
      phase: 'progressing',
      resumeTo: null,
      reason: null,
      stepStartedAt: T0 + 100 * S,
      failures: 0,
      weightBp: 500,
    });
    // The time spent paused does not count towards stepInterval.
    expect(step(resumed.state, analysis('pass'), T0 + 130 * S - 1).state.step).toBe(0);
    expect(step(resumed.state, analysis('pass'), T0 + 130 * S).state.step).toBe(1);
  });

  it('pause during starting resumes to starting', () => {
    const paused = step(fresh(), { type: 'pause', reason: 'hold' }, T0 + S).state;
    expect(paused.resumeTo).toBe('starting');
    expect(step(paused, { type: 'resume' }, T0 + 2 * S).state.phase).toBe('starting');
  });

  it('manual shift pauses the rollout at the new weight and says so', () => {
    const { state, effects } = step(progressing(), { type: 'manual-shift', weightBp: 2550 }, T0 + 7 * S);
    expect(effects).toEqual([{ type: 'emit', kind: 'paused', message: 'paused: traffic shifted by hand to 25.5%' }]);
    expect(state).toMatchObject({
      phase: 'paused',
      weightBp: 2550,
      resumeTo: 'progressing',
      reason: 'paused: traffic shifted by hand to 25.5%',
    });
  });

  it('never moves the canary back down: after a weight shifted by hand, the next step is the first above it', () => {
    const at = (weightBp: number): RolloutState => {
      const shifted = step(progressing(), { type: 'manual-shift', weightBp }, T0 + S).state;
      return step(shifted, { type: 'resume' }, T0 + 2 * S).state;
    };
    const { state, effects } = step(at(2000), { type: 'promote', full: false }, T0 + 3 * S);
    expect(effects).toEqual([
      { type: 'emit', kind: 'step', message: 'step 3/5: canary weight 25% (promoted by operator)' },
    ]);
    expect(state).toMatchObject({ step: 2, weightBp: 2500 });
    // Past every judged step (10, 25, 50%): the next move promotes.
    expect(types(step(at(6000), { type: 'promote', full: false }, T0 + 3 * S).effects)).toEqual(PROMOTE_EFFECTS);
    // Shifted down, the steps go on from the next one.
    expect(step(at(100), { type: 'promote', full: false }, T0 + 3 * S).state).toMatchObject({
      step: 1,
      weightBp: 1000,
    });
  });

  it('manual shift while paused keeps where resume goes back to', () => {
    const paused = step(fresh(), { type: 'pause', reason: 'hold' }, T0 + S).state;
    const { state } = step(paused, { type: 'manual-shift', weightBp: 0 }, T0 + 2 * S);
    expect(state).toMatchObject({ phase: 'paused', resumeTo: 'starting', weightBp: 0 });
  });
});

describe('blue-green', () => {
  const BG = { rollbackWindow: '5m' };

  it('previews at weight 0, then switches to 100% once', () => {
    const ready = step(fresh('blue-green', BG), { type: 'canary-ready' }, T0);
    expect(ready.effects).toEqual([
      { type: 'emit', kind: 'canary-ready', message: 'new pool ready; preview through the override header only' },
    ]);
    expect(ready.state).toMatchObject({ phase: 'progressing', step: 0, weightBp: 0 });
    expect(step(ready.state, analysis('pass'), T0 + 30 * S - 1).state.weightBp).toBe(0);
    const sw = step(ready.state, analysis('pass'), T0 + 30 * S);
    expect(sw.effects).toEqual([
      {
        type: 'emit',
        kind: 'step',
        message: 'switched all traffic to the new pool (analysis passed); rollback window 300s',
      },
    ]);
    expect(sw.state).toMatchObject({ step: 1, weightBp: 10000, stepStartedAt: T0 + 30 * S });
  });

  it('keeps the old pool for rollbackWindow (not stepInterval), then promotes', () => {
    const sw = step(progressing(BG, T0, 'blue-green'), analysis('pass'), T0 + 30 * S).state;
    const held = step(sw, analysis('pass'), T0 + 330 * S - 1);
    expect(types(held.effects)).toEqual(['emit:analysis']);
    expect(held.state).toMatchObject({ phase: 'progressing', step: 1, weightBp: 10000 });
    const done = step(held.state, analysis('pass'), T0 + 330 * S);
    expect(types(done.effects)).toEqual(PROMOTE_EFFECTS);
    expect(done.state.phase).toBe('promoting');
  });

  it.each([
    ['a fail-fast analysis', [analysis('fail', true)]],
    // Every user is on the new pool after the switch: one failed analysis is enough (no failureLimit).
    ['a single failed analysis', [analysis('fail')]],
  ])('%s in the rollback window switches back to 0 at once', (_label, events) => {
    let s = step(progressing(BG, T0, 'blue-green'), analysis('pass'), T0 + 30 * S).state;
    let last: Effect[] = [];
    events.forEach((e, i) => {
      const r = step(s, e, T0 + (40 + i * 2) * S);
      s = r.state;
      last = r.effects;
    });
    expect(types(last)).toEqual(ROLLBACK_EFFECTS);
    expect(s).toMatchObject({ phase: 'rolling-back', weightBp: 0, rollbackOutcome: 'rolled-back' });
  });

  it('promote {full:false} in preview is the switch', () => {
    const { state, effects } = step(progressing(BG, T0, 'blue-green'), { type: 'promote', full: false }, T0 + S);
    expect(types(effects)).toEqual(['emit:step']);
    expect(state).toMatchObject({ step: 1, weightBp: 10_000 });
  });
});

describe('image rollouts (targets learnt when ready) and restarts', () => {
  it("canary-ready carries the created containers' addresses into the state", () => {
    const s = { ...fresh(), canaryTargets: [] };
    const r = step(s, { type: 'canary-ready', targets: ['127.0.0.1:32001', '127.0.0.1:32002'] }, T0 + S);
    expect(r.state.canaryTargets).toEqual(['127.0.0.1:32001', '127.0.0.1:32002']);
    expect(r.state.phase).toBe('progressing');
    // Without targets the ones given at start stay.
    expect(step(fresh(), { type: 'canary-ready' }, T0).state.canaryTargets).toEqual(CANARY);
  });

  it('interrupted rolls back from starting, progressing and paused, naming the reason', () => {
    for (const phase of ['starting', 'progressing', 'paused'] as const) {
      const r = step(inPhase(phase), { type: 'interrupted', reason: 'veer restarted' }, T0 + 5 * S);
      expect(r.state.phase).toBe('rolling-back');
      expect(r.state.rollbackOutcome).toBe('rolled-back');
      expect(r.state.reason).toBe('veer restarted');
      expect(types(r.effects)).toEqual(ROLLBACK_EFFECTS);
    }
  });

  it('interrupted is refused once the rollout is promoting or over', () => {
    for (const phase of ['promoting', 'succeeded', 'rolling-back', 'rolled-back'] as const) {
      const t = transition(inPhase(phase), { type: 'interrupted', reason: 'x' }, T0 + 5 * S);
      expect(t.ok).toBe(false);
    }
  });
});

describe('a canary whose containers are gone', () => {
  it('rolls back from progressing, paused and promoting (the old stable pool is still there), naming why', () => {
    for (const phase of ['progressing', 'paused', 'promoting'] as const) {
      const reason = 'the canary containers are gone: no running container';
      const r = step(inPhase(phase), { type: 'canary-gone', reason }, T0 + 5 * S);
      expect(r.state).toMatchObject({ phase: 'rolling-back', rollbackOutcome: 'rolled-back', weightBp: 0, reason });
      expect(types(r.effects)).toEqual(ROLLBACK_EFFECTS);
      const end = step(r.state, { type: 'drained' }, T0 + 6 * S);
      expect(end.state.phase).toBe('rolled-back');
      expect(end.effects[0]?.message).toBe(`rolled-back: ${reason}`);
    }
  });

  it('is left to the launch while starting, and changes nothing once the rollout ends or rolls back', () => {
    for (const phase of ['starting', 'rolling-back', 'succeeded', 'rolled-back', 'aborted'] as const) {
      const t = transition(inPhase(phase), { type: 'canary-gone', reason: 'x' }, T0 + 5 * S);
      expect(t).toMatchObject({ ok: false, code: 'invalid_phase' });
    }
  });
});
