// What each step needs, and the warning a rollout gives at its first analysis when its traffic
// cannot give its steps their canary requests before the progress deadline.
import { describe, expect, it } from 'vitest';
import { emptyStats } from '../../../src/analysis/judge.js';
import { rolloutPolicySchema } from '../../../src/config/schema.js';
import type { RolloutState, Verdict } from '../../../src/domain/rollout.js';
import { newRollout, transition } from '../../../src/rollout/machine.js';
import { lowTrafficWarning, requiredSoFar, stepMinRequests } from '../../../src/rollout/step-needs.js';

function rollout(policy: Record<string, unknown> = {}, step = 0): RolloutState {
  const s = newRollout(
    {
      id: 'r1',
      service: 'web',
      strategy: 'canary',
      policy: rolloutPolicySchema.parse(policy),
      canaryTargets: ['c:1'],
      stableTargets: ['s:1'],
      stats: emptyStats(),
    },
    0,
  );
  return { ...s, phase: 'progressing', step };
}

describe('what a step needs', () => {
  it('minRequests by the last step below 100%, a proportional share before, an equal part of its own', () => {
    // Default steps 5/10/25/50/100: four judged steps, 200 requests.
    expect([0, 1, 2, 3].map((i) => requiredSoFar(rollout({}, i)))).toEqual([50, 100, 150, 200]);
    expect(stepMinRequests(rollout())).toBe(50);
    expect(requiredSoFar(rollout({ steps: [100] }))).toBe(200);
  });
});

describe('the low-traffic warning', () => {
  it('says nothing when the traffic suffices (20 req/s, default policy) or cannot be measured yet', () => {
    expect(lowTrafficWarning(rollout(), 20)).toBeNull();
    expect(lowTrafficWarning(rollout(), 0)).toBeNull();
  });

  it('at 0.5 req/s names the step that will pause, and the first step and minRequests that would work', () => {
    const w = lowTrafficWarning(rollout(), 0.5);
    // 5% of 0.5 req/s serves 50 requests in 2,000 s, past the 600 s deadline.
    expect(w).toMatch(/^at about 0\.5 req\/s, step 1 \(5%\) needs about 2000 s to serve its canary requests/);
    expect(w).toContain('longer than progressDeadline (600s): the rollout will pause there');
    // 50 requests in 600 s need 0.083 req/s: 17% of 0.5 req/s; or minRequests 0.025 × 600 × 4 = 60.
    expect(w).toContain('Steps that would work start at 17% or more, or set minRequests to 60 or less');
  });

  it('says the rollout will roll back there when onDeadline is rollback', () => {
    const w = lowTrafficWarning(rollout({ onDeadline: 'rollback' }), 0.5);
    expect(w).toContain('longer than progressDeadline (600s): the rollout will roll back there.');
  });

  it('is emitted before the first analysis event, and never changes the phase', () => {
    const s = rollout();
    const verdict: Verdict = {
      result: 'inconclusive',
      failFast: false,
      reason: 'not enough data',
      checks: [],
      canary: { requests: 1, errors: 0, errorRate: 0, p99Ms: 1 },
      stable: { requests: 19, errors: 0, errorRate: 0, p99Ms: 1 },
      at: 2_000,
    };
    const t = transition(
      s,
      { type: 'analysis', verdict, stats: emptyStats(), until: 2_000, warning: 'too slow' },
      2_000,
    );
    expect(t.ok).toBe(true);
    if (!t.ok) return;
    expect(t.effects.map((e) => e.kind)).toEqual(['warning', 'analysis']);
    expect(t.effects[0]?.message).toBe('too slow');
    expect(t.state.phase).toBe('progressing');
  });
});
