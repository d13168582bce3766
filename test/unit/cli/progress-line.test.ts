// `rollout --wait`'s progress line: whose figures it shows.
import { describe, expect, it } from 'vitest';
import { progressLine } from '../../../src/cli/status-table.js';
import type { Verdict } from '../../../src/domain/rollout.js';
import { fakeRollout, fakeService, poolMetrics } from '../api/fake-directory.js';

// The pools' sliding window still holds the previous canary's failures.
const metrics = {
  stable: poolMetrics({ window: '60s', requests: 900, errors: 9, errorRate: 0.01, p99Ms: 20 }),
  canary: poolMetrics({ window: '60s', requests: 100, errors: 40, errorRate: 0.4, p99Ms: 900 }),
};

const verdict: Verdict = {
  result: 'pass',
  failFast: false,
  reason: 'canary within every limit',
  checks: [],
  canary: { requests: 50, errors: 0, errorRate: 0, p99Ms: 12 },
  stable: { requests: 450, errors: 2, errorRate: 0.0044, p99Ms: 11.4 },
  at: Date.parse('2024-01-01T00:00:10Z'),
};

describe('progressLine', () => {
  it("shows this rollout's evidence from its last verdict, not the pools' last 60s", () => {
    const s = fakeService('web', { metrics, rollout: fakeRollout({ step: 1, weight: 25, lastVerdict: verdict }) });
    expect(progressLine(s)).toBe(
      'step 2/3 weight 25% | canary err 0.00% p99 12ms | stable err 0.44% p99 11ms | pass: canary within every limit',
    );
  });

  it('before any verdict, labels the figures as the last 60s', () => {
    const s = fakeService('web', { metrics, rollout: fakeRollout({ lastVerdict: null }) });
    expect(progressLine(s)).toBe(
      'step 1/3 weight 5% | last 60s: canary err 40.00% p99 900ms | stable err 1.00% p99 20ms | no verdict yet',
    );
  });

  it('shows "-" for a pool without requests, not figures that read as measured', () => {
    const idle = {
      stable: poolMetrics({ window: '60s', requests: 900, errors: 9, errorRate: 0.01, p99Ms: 20 }),
      canary: poolMetrics({ window: '60s', requests: 0, errors: 0, errorRate: 0, p99Ms: 0 }),
    };
    const s = fakeService('web', { metrics: idle, rollout: fakeRollout({ lastVerdict: null }) });
    expect(progressLine(s)).toBe(
      'step 1/3 weight 5% | last 60s: canary err - p99 - | stable err 1.00% p99 20ms | no verdict yet',
    );
    const quiet = { ...verdict, canary: { requests: 0, errors: 0, errorRate: 0, p99Ms: 0 } };
    const v = fakeService('web', { metrics: idle, rollout: fakeRollout({ step: 1, weight: 25, lastVerdict: quiet }) });
    expect(progressLine(v)).toBe(
      'step 2/3 weight 25% | canary err - p99 - | stable err 0.44% p99 11ms | pass: canary within every limit',
    );
  });
});
