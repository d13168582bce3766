// The lease's local deadline, with a hand-driven clock and timers: a timer that fires a little before
// the wall clock reaches the deadline (Node's timers run on the monotonic clock and do so by up to a
// millisecond) must not leave the holder believing it leads until the next renewal tick.
import { describe, expect, it } from 'vitest';
import { Lease, type LeaseTimers, type LoseReason, type ScriptRunner } from '../../../src/store/lease.js';

class ManualTimers implements LeaseTimers {
  private seq = 0;
  readonly pending = new Map<number, { fn: () => void; ms: number }>();

  setTimeout(fn: () => void, ms: number): unknown {
    this.pending.set(++this.seq, { fn, ms });
    return this.seq;
  }

  clearTimeout(h: unknown): void {
    this.pending.delete(h as number);
  }

  /** Runs the pending timer armed for exactly `ms` (the deadline; ticks are armed for the renew period). */
  fire(ms: number): void {
    const hit = [...this.pending].find(([, t]) => t.ms === ms);
    if (!hit) throw new Error(`no timer armed for ${ms} ms (armed: ${[...this.pending.values()].map((t) => t.ms)})`);
    this.pending.delete(hit[0]);
    hit[1].fn();
  }
}

// Acquire wins with token 7; every renewal hangs (a partitioned link), so only the deadline can end the tenure.
const hangingRenewals: ScriptRunner = {
  eval: (script) => (script.includes('NX') ? Promise.resolve([1, 7]) : new Promise(() => undefined)),
};

describe('Lease deadline', () => {
  it('a deadline timer that fires early arms again for the rest, then loses at the deadline itself', async () => {
    let now = 1_000;
    const timers = new ManualTimers();
    const lost: LoseReason[] = [];
    const l = new Lease(hangingRenewals, {
      prefix: 'p',
      id: 'a',
      ttlMs: 600,
      renewEveryMs: 200,
      marginMs: 120,
      clock: { now: () => now },
      timers,
    });
    l.onLose((r) => lost.push(r));
    await l.start();
    expect(l.token()).toBe(7);
    // Deadline: sent at 1000 + 600 − 120 = 1480, armed for 480 ms.
    now = 1_479;
    timers.fire(480);
    expect(lost).toEqual([]);
    // Armed again for the one millisecond left, not left to the next tick.
    now = 1_480;
    timers.fire(1);
    expect(lost).toEqual(['expired']);
    expect(l.isLeader()).toBe(false);
    // Nothing is armed for a tenure that has ended.
    expect([...timers.pending.values()].map((t) => t.ms)).toEqual([200]);
  });
});
