// The leader's analysis cadence: the configured analysisInterval for a canary that looks healthy,
// every second for one the evidence leans against (a failure awaiting its confirmation included).
import { describe, expect, it } from 'vitest';
import { emptyStats } from '../../../src/analysis/judge.js';
import { rolloutPolicySchema } from '../../../src/config/schema.js';
import type { CheckResult, CheckStatus, RolloutState, Verdict, VerdictResult } from '../../../src/domain/rollout.js';
import { analysisDelay, LOOK_AGAIN_MS } from '../../../src/rollout/duty.js';
import { newRollout } from '../../../src/rollout/machine.js';

const T0 = 1_700_000_000_000;
const S = 1_000;

/** stepInterval 30 s: a failure stands that long. */
function rollout(analysisInterval = '2s'): RolloutState {
  const policy = rolloutPolicySchema.parse({ analysisInterval, stepInterval: '30s' });
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

function judged(s: RolloutState, result: VerdictResult, checks: CheckResult[], failedAt?: number): RolloutState {
  const pool = { requests: 100, errors: 1, errorRate: 0.01, p99Ms: 10 };
  const lastVerdict: Verdict = { result, failFast: false, reason: result, checks, canary: pool, stable: pool, at: T0 };
  return failedAt === undefined ? { ...s, lastVerdict } : { ...s, lastVerdict, failures: 1, failedAt };
}

describe('analysisDelay', () => {
  it('keeps analysisInterval before the first verdict and while every check passes', () => {
    expect(analysisDelay(rollout(), T0)).toBe(2_000);
    expect(analysisDelay(judged(rollout('5s'), 'pass', [check('pass', 0.9)]), T0)).toBe(5_000);
    // Not enough data yet, with no evidence against the canary: no hurry either.
    expect(analysisDelay(judged(rollout('5s'), 'inconclusive', [check('inconclusive', 0.6)]), T0)).toBe(5_000);
  });

  it('looks every second while a check is held leaning towards a regression (p ≤ 0.1)', () => {
    const leaning = [check('pass', 0.9), check('inconclusive', 0.04)];
    expect(analysisDelay(judged(rollout('5s'), 'inconclusive', leaning), T0)).toBe(LOOK_AGAIN_MS);
    // p small but the practical gate let it pass (a tiny difference), or the check is skipped (no
    // fair reference): neither can fail the canary, so nothing to hurry for.
    expect(analysisDelay(judged(rollout('5s'), 'pass', [check('pass', 0.001)]), T0)).toBe(5_000);
    expect(analysisDelay(judged(rollout('5s'), 'inconclusive', [check('skipped', 0.02)]), T0)).toBe(5_000);
  });

  it('looks every second after a failure while it stands (one step), then at the configured cadence', () => {
    expect(analysisDelay(judged(rollout('5s'), 'fail', [check('fail', 0.005)], T0), T0)).toBe(LOOK_AGAIN_MS);
    // The tests started over after the failure: no evidence yet, but the confirmation is pending.
    const since = judged(rollout('5s'), 'inconclusive', [check('pass', 1)], T0);
    expect(analysisDelay(since, T0 + 29 * S)).toBe(LOOK_AGAIN_MS);
    // A step's time later the failure no longer hurries anything (held for want of data, say).
    expect(analysisDelay(since, T0 + 30 * S)).toBe(5_000);
  });

  it('never waits longer than analysisInterval', () => {
    expect(analysisDelay(judged(rollout('500ms'), 'fail', [check('fail', 0.005)], T0), T0)).toBe(500);
  });
});
