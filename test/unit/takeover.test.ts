// Taking over the rollouts after winning the lease: reads that fail are tried again, backing off, while the
// lease still holds the token won; never once more after it went.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/domain/log.js';
import { takeOver, type Leadership } from '../../src/takeover.js';

function leadership(failures: number) {
  const calls: number[] = [];
  const rollouts: Leadership = {
    lead: async (token) => {
      calls.push(token);
      if (calls.length <= failures) throw new Error('Command timed out');
    },
    follow: () => undefined,
  };
  return { rollouts, calls };
}

describe('takeOver', () => {
  it('tries again after a failed read, backing off, until the takeover succeeds', async () => {
    const { rollouts, calls } = leadership(3);
    const waits: number[] = [];
    const sleep = async (ms: number) => void waits.push(ms);
    await takeOver(rollouts, 4, { held: () => true, log: silentLogger, sleep });
    expect(calls).toEqual([4, 4, 4, 4]);
    expect(waits).toEqual([250, 500, 1000]);
  });

  it('stops trying once the lease no longer holds the token', async () => {
    const { rollouts, calls } = leadership(100);
    let held = true;
    const sleep = async () => void (calls.length === 2 && (held = false));
    await takeOver(rollouts, 4, { held: () => held, log: silentLogger, sleep });
    expect(calls).toEqual([4, 4]);
  });

  it('the waits stop growing at 5 s, and the tries at a bound', async () => {
    const { rollouts, calls } = leadership(Infinity);
    const waits: number[] = [];
    await takeOver(rollouts, 1, { held: () => true, log: silentLogger, sleep: async (ms) => void waits.push(ms) });
    expect(Math.max(...waits)).toBe(5_000);
    expect(calls.length).toBe(10_000);
  });
});
