// The history's API view hides a rollout's gate secrets (header values, a URL's query and userinfo)
// while the stored entry, which a retry starts from, keeps them.
import { describe, expect, it } from 'vitest';
import { emptyStats } from '../../../src/analysis/judge.js';
import { rolloutPolicySchema } from '../../../src/config/schema.js';
import { historyEntry } from '../../../src/domain/history.js';
import { newRollout } from '../../../src/rollout/machine.js';
import { retryPlan } from '../../../src/rollout/rerun-plan.js';
import { historyView } from '../../../src/rollout/status.js';

const overrides = {
  stepInterval: 60_000,
  gates: {
    beforeTraffic: 'http://127.0.0.1:7000/smoke?token=URLSECRET#frag',
    beforePromotion: {
      url: 'https://ops:PASSWORD@gates.example.com/approve?key=QUERYSECRET',
      timeout: 5_000,
      retries: 2,
      headers: { authorization: 'Bearer GATESECRET', 'x-api-key': 'KEYSECRET' },
    },
    beforeEachStep: { url: 'http://127.0.0.1:7000/step', timeout: 5_000, retries: 2, headers: {} },
  },
};

const aborted = {
  ...newRollout(
    {
      id: 'r1',
      service: 'web',
      strategy: 'canary',
      policy: rolloutPolicySchema.parse({}),
      canaryTargets: ['127.0.0.1:9002'],
      stableTargets: ['127.0.0.1:9001'],
      stats: emptyStats(),
    },
    1_700_000_000_000,
  ),
  phase: 'aborted' as const,
  overrides,
};

describe('historyView', () => {
  it("hides gate header values and a gate URL's query and userinfo, and keeps the rest", () => {
    const view = historyView(historyEntry(aborted));
    expect(view.overrides).toEqual({
      stepInterval: 60_000,
      gates: {
        beforeTraffic: 'http://127.0.0.1:7000/smoke?(hidden)',
        beforePromotion: {
          url: 'https://(hidden)@gates.example.com/approve?(hidden)',
          timeout: 5_000,
          retries: 2,
          headers: { authorization: '(hidden)', 'x-api-key': '(hidden)' },
        },
        beforeEachStep: { url: 'http://127.0.0.1:7000/step', timeout: 5_000, retries: 2, headers: {} },
      },
    });
    expect(JSON.stringify(view)).not.toMatch(/SECRET|PASSWORD/);
  });

  it('leaves the stored entry whole, so a retry asks the gates with their real URLs and headers', () => {
    const entry = historyEntry(aborted);
    historyView(entry);
    expect(entry.overrides).toEqual(overrides);
    const plan = retryPlan('web', aborted);
    expect(plan.ok && plan.value.req.rollout).toEqual(overrides);
  });
});
