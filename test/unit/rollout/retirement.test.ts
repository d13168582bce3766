// The retirement's word on the old stable pool when the canary's presence cannot be told: an engine that does
// not answer at promotion time must neither remove the old pool nor roll a promotion back.
import { describe, expect, it } from 'vitest';
import type { RolloutState } from '../../../src/domain/rollout.js';
import type { CanaryFleet } from '../../../src/rollout/canary-fleet.js';
import { Retirement } from '../../../src/rollout/retirement.js';

const promoting = {
  id: 'r1',
  service: 'web',
  phase: 'promoting',
  strategy: 'canary',
  canaryTargets: ['c1:80'],
  stableTargets: ['s1:80'],
  policy: { drainTimeout: 1_000, steps: [] },
  docker: { image: 'app:2', env: [], count: 1, stableGeneration: null },
} as unknown as RolloutState;

function retirementWith(running: CanaryFleet['running']) {
  const removed: Array<string | null> = [];
  const said: string[] = [];
  const fleet = { running, retire: async (_s: string, g: string | null) => void removed.push(g) } as CanaryFleet;
  const r = new Retirement({
    emit: (e) => void said.push(e.message),
    routeOf: () => null,
    acks: { waitClear: () => Promise.resolve({ clear: true, pending: [] }) },
    fleet,
    stopLaunch: () => Promise.resolve(),
  });
  return { r, removed, said };
}

describe('Retirement of the old stable pool', () => {
  it('keeps it, without rolling back, when the engine does not answer (the promotion stands)', async () => {
    const { r, removed, said } = retirementWith(() => Promise.reject(new Error('connect ETIMEDOUT')));
    expect(await r.retire(promoting, 'old-stable')).toEqual({ type: 'drained' });
    expect(removed).toEqual([]);
    expect(said.join('\n')).toMatch(/old stable pool's containers were kept \(veer prune removes them\).*ETIMEDOUT/);
  });

  it('keeps it when no container was found but an engine did not answer', async () => {
    const { r, removed } = retirementWith(() => Promise.resolve({ count: 0, unanswered: ['remote'] }));
    expect(await r.retire(promoting, 'old-stable')).toEqual({ type: 'drained' });
    expect(removed).toEqual([]);
  });

  it('goes back to it when every engine answered and none runs the canary', async () => {
    const { r, removed } = retirementWith(() => Promise.resolve({ count: 0, unanswered: [] }));
    expect(await r.retire(promoting, 'old-stable')).toMatchObject({ type: 'canary-gone' });
    expect(removed).toEqual([]);
  });

  it('removes it while the canary runs', async () => {
    const { r, removed } = retirementWith(() => Promise.resolve({ count: 1, unanswered: [] }));
    expect(await r.retire(promoting, 'old-stable')).toEqual({ type: 'drained' });
    expect(removed).toEqual([null]);
  });
});
