// The 4xx guard through the real windows, controller and judge (the simulator): a bot whose requests are
// answered 4xx on any version does not roll back the canary its sticky bucket lands on, while a canary
// answering 404 to many clients is still rolled back.
import { describe, expect, it } from 'vitest';
import { simulateRollout, type SimRequest, type TrafficContext } from '../../../src/simulate.js';

const policy = { judge4xx: true };

/** 200 req/s between the pools by weight; 0.5% of them 4xx, each from its own client. */
function users({ pool, share, rand }: TrafficContext, canary404 = 0.005): SimRequest[] {
  return Array.from({ length: Math.round(200 * share) }, () => ({
    status: rand() < (pool === 'canary' ? canary404 : 0.005) ? 404 : 200,
    latencyMs: 20 * (0.5 + rand()),
    client: Math.floor(rand() * 1_000_000),
  }));
}

/** A bot sending 5 bad requests a second, its sticky bucket on stable below `from`% and on the canary from it. */
const bot =
  (from = 25) =>
  ({ pool, weight }: TrafficContext): SimRequest[] => {
    const here = weight >= from === (pool === 'canary');
    return here ? Array.from({ length: 5 }, () => ({ status: 400, latencyMs: 5, client: 'bot' })) : [];
  };

describe('judge4xx with one client drawing 4xx on any version', () => {
  it('promotes a healthy canary the bot lands on', async () => {
    const r = await simulateRollout({ seed: 4, policy, traffic: (ctx) => [...users(ctx), ...bot()(ctx)] });
    expect(r.outcome).toBe('succeeded');
  });

  it('neither rolls back nor promotes a canary the bot is on from the start: it pauses for a person', async () => {
    // The bot never met stable: its 4xx may be the canary's fault met by one client (a 404 it alone asks for).
    const quick = { ...policy, progressDeadline: '3m' };
    const r = await simulateRollout({ seed: 4, policy: quick, traffic: (ctx) => [...users(ctx), ...bot(0)(ctx)] });
    expect(r.outcome).toBe('paused');
    expect(r.reason).toMatch(/before promotion: canary 4xx rate over the rollout/);
  });

  it('rolls back a canary answering 404 to 5% of everyone, bot or not', async () => {
    const r = await simulateRollout({ seed: 4, policy, traffic: (ctx) => [...users(ctx, 0.05), ...bot()(ctx)] });
    expect(r.outcome).toBe('rolled-back');
    expect(r.reason).toMatch(/4xx/);
  });
});
