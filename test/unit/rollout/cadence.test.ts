// The leader's analysis cadence: the configured analysisInterval for a canary that looks healthy,
// every second for one the evidence leans against (a failure awaiting its confirmation included).
import { describe, expect, it } from 'vitest';
import { emptyStats } from '../../../src/analysis/judge.js';
import { rolloutPolicySchema } from '../../../src/config/schema.js';
import type { CheckResult, CheckStatus, RolloutState, Verdict, VerdictResult } from '../../../src/domain/rollout.js';
import { analysisDelay, LOOK_AGAIN_MS } from '../../../src/rollout/duty.js';
import { newRollout } from '../../../src/rollout/machine.js';

const T0 = 1_700_000_000_000;

function rollout(analysisInterval = '2s'): RolloutState {
  const policy = rolloutPolicySchema.parse({ analysisInterval });
  const base = { id: 'r1', service: 'web', strategy: 'canary' as const, policy, stats: emptyStats() };
  return newRollout({ ...base, canaryTargets: ['127.0.0.1:9101'], stableTargets: ['127.0.0.1:9001'] }, T0);
}

const check = (status: CheckStatus, pValue: number): CheckResult => ({
  name: 'error-rate',
  status,
  observed: 0.02,
  limit: 0.01,
  pValue,
  note: '',
});

function judged(s: RolloutState, result: VerdictResult, checks: CheckResult[], failures = 0): RolloutState {
  const pool = { requests: 100, errors: 1, errorRate: 0.01, p99Ms: 10 };
  const lastVerdict: Verdict = { result, failFast: false, reason: result, checks, canary: pool, stable: pool, at: T0 };
  return { ...s, lastVerdict, failures };
}

describe('analysisDelay', () => {
  it('keeps analysisInterval before the first verdict and while every check passes', () => {
    expect(analysisDelay(rollout())).toBe(2_000);
    expect(analysisDelay(judged(rollout('5s'), 'pass', [check('pass', 0.9)]))).toBe(5_000);
    // Not enough data yet, with no evidence against the canary: no hurry either.
    expect(analysisDelay(judged(rollout('5s'), 'inconclusive', [check('inconclusive', 0.6)]))).toBe(5_000);
  });

  it('looks every second while a check leans towards a regression (p ≤ 0.1, not passed)', () => {
    expect(
      analysisDelay(judged(rollout('5s'), 'inconclusive', [check('pass', 0.9), check('inconclusive', 0.04)])),
    ).toBe(LOOK_AGAIN_MS);
    // p small but the practical gate let it pass (a tiny difference): nothing to hurry for.
    expect(analysisDelay(judged(rollout('5s'), 'pass', [check('pass', 0.001)]))).toBe(5_000);
  });

  it('looks every second after a failure until it is confirmed or cleared', () => {
    expect(analysisDelay(judged(rollout('5s'), 'fail', [check('fail', 0.005)], 1))).toBe(LOOK_AGAIN_MS);
    // The tests started over after the failure: no evidence yet, but the confirmation is pending.
    expect(analysisDelay(judged(rollout('5s'), 'pass', [check('pass', 1)], 1))).toBe(LOOK_AGAIN_MS);
  });

  it('never waits longer than analysisInterval', () => {
    expect(analysisDelay(judged(rollout('500ms'), 'fail', [check('fail', 0.005)], 1))).toBe(500);
  });
});
