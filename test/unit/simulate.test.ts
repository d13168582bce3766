// The simulator users get (`veer/simulate`): the real controller, machine and judge on a virtual
// clock. Healthy traffic is promoted, a failing canary rolled back, the same seed gives the same run,
// and a bad policy key is refused with its field.
import { describe, expect, it } from 'vitest';
import { simulateRollout, type TrafficContext } from '../../src/simulate.js';

const traffic =
  (canaryErr: number) =>
  ({ pool, share, rand }: TrafficContext) =>
    Array.from({ length: Math.round(100 * share) }, () => ({
      status: rand() < (pool === 'canary' ? canaryErr : 0.005) ? 503 : 200,
      latencyMs: 20 * (0.5 + rand()),
    }));

describe('simulateRollout', () => {
  it('promotes a healthy canary after the last step below 100%, with the steps it took', async () => {
    const r = await simulateRollout({ seed: 1, traffic: traffic(0.005) });
    expect(r.outcome).toBe('succeeded');
    expect(r.steps.map((s) => s.weight)).toEqual([5, 10, 25, 50]);
    expect(r.steps.slice(1).every((s) => s.verdict === 'pass')).toBe(true);
    // Four steps of at least stepInterval (30 s) each.
    expect(r.seconds).toBeGreaterThanOrEqual(120);
    expect(r.canaryRequests).toBeGreaterThan(0);
  });

  it('rolls back a canary failing 30% of requests within seconds, and counts the exposure', async () => {
    const r = await simulateRollout({ seed: 2, traffic: traffic(0.3) });
    expect(r.outcome).toBe('rolled-back');
    expect(r.seconds).toBeLessThanOrEqual(15);
    expect(r.reason).toMatch(/^rolled back/);
    expect(r.canaryFailed).toBeGreaterThan(0);
    expect(r.canaryFailed).toBeLessThan(r.canaryRequests);
  });

  it('is deterministic for a seed and takes the policy keys of a rollout section', async () => {
    const opts = { seed: 9, policy: { steps: [20, 60], stepInterval: '10s' }, traffic: traffic(0.005) };
    const [a, b] = [await simulateRollout(opts), await simulateRollout(opts)];
    expect(a).toEqual(b);
    expect(a.steps.map((s) => s.weight)).toEqual([20, 60]);
  });

  it('stops at maxSeconds with outcome running', async () => {
    const r = await simulateRollout({ seed: 3, maxSeconds: 20, traffic: traffic(0.005) });
    expect(r).toMatchObject({ outcome: 'running', seconds: 20 });
  });

  it('refuses a bad policy key with the field and what was expected', async () => {
    await expect(simulateRollout({ policy: { stepInterval: 'soon' }, traffic: traffic(0) })).rejects.toThrow(
      /^policy\.stepInterval: /,
    );
    await expect(simulateRollout({ policy: { steps: [50, 10] }, traffic: traffic(0) })).rejects.toThrow(
      /^policy\.steps\.1: must be greater than the previous step \(50\)/,
    );
  });

  it('never promotes a canary that stopped getting traffic (its targets died), canary or blue-green', async () => {
    // Healthy at 200 req/s until second `die`; then the canary serves nothing and stable takes it all.
    const dying =
      (die: number) =>
      ({ second, pool, share, rand }: TrafficContext) => {
        if (pool === 'canary' && second >= die) return [];
        const n = Math.round(200 * (pool === 'stable' && second >= die ? 1 : share));
        return Array.from({ length: n }, () => ({ status: rand() < 0.002 ? 500 : 200, latencyMs: 20 + rand() * 30 }));
      };
    for (const die of [40, 100]) {
      const r = await simulateRollout({ seed: 7, maxSeconds: 700, traffic: dying(die) });
      expect(r.outcome).toBe('paused');
      expect(r.reason).toMatch(/the canary got no requests while stable served its last \d+/);
    }
    const bg = await simulateRollout({
      seed: 7,
      maxSeconds: 700,
      policy: { strategy: 'blue-green', stepInterval: '30s', rollbackWindow: '2m' },
      traffic: dying(51),
    });
    expect(bg.outcome).not.toBe('succeeded');
  });
});
