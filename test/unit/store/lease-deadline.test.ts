// The lease's local deadline, with hand-driven clocks and timers: a timer that fires a little before
// performance.now() reaches the deadline (Node's timers do so by up to a millisecond) must not leave the
// holder believing it leads until the next renewal tick; a wall clock stepped back must not extend it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Monotonic } from '../../../src/domain/clock.js';
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

/** A lease of 600 ms (renewed every 200, 120 of margin) on hanging renewals; `monotonic` absent: the default. */
function hangingLease(timers: ManualTimers, monotonic?: Monotonic): Lease {
  const opts = { prefix: 'p', id: 'a', ttlMs: 600, renewEveryMs: 200, marginMs: 120, timers };
  return new Lease(hangingRenewals, monotonic === undefined ? opts : { ...opts, monotonic });
}

describe('Lease deadline', () => {
  it('a deadline timer that fires early arms again for the rest, then loses at the deadline itself', async () => {
    let now = 1_000;
    const timers = new ManualTimers();
    const lost: LoseReason[] = [];
    const l = hangingLease(timers, { now: () => now });
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

  it.each([
    [1_300, 'superseded'],
    [1_480, 'expired'],
  ] as const)('a renewal refused with its reply at %i ms (deadline 1480) ends the tenure as %s', async (at, reason) => {
    let now = 1_000;
    const timers = new ManualTimers();
    let answer: (reply: unknown) => void = () => undefined;
    const runner: ScriptRunner = {
      eval: (script) => (script.includes('NX') ? Promise.resolve([1, 7]) : new Promise((r) => (answer = r))),
    };
    const opts = { prefix: 'p', id: 'a', ttlMs: 600, renewEveryMs: 200, marginMs: 120, timers };
    const l = new Lease(runner, { ...opts, monotonic: { now: () => now } });
    const lost: LoseReason[] = [];
    l.onLose((r) => lost.push(r));
    await l.start();
    // The renewal goes out at 1200, before the deadline; another replica holds the key when it is answered.
    now = 1_200;
    timers.fire(200);
    now = at;
    answer([0, 8]);
    await new Promise((r) => setImmediate(r));
    expect(lost).toEqual([reason]);
    expect(l.isLeader()).toBe(false);
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('a wall clock stepped back does not extend the tenure: it ends at its monotonic deadline', async () => {
    // Only Date is faked: the wall clock an operator or NTP can step; the lease's own clock is `mono`.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_700_000_000_000);
    let mono = 1_000;
    const timers = new ManualTimers();
    const lost: LoseReason[] = [];
    const l = hangingLease(timers, { now: () => mono });
    l.onLose((r) => lost.push(r));
    await l.start();
    expect(l.token()).toBe(7);
    // Renewals hang (a partitioned link) and the wall clock is stepped back a minute.
    vi.setSystemTime(1_700_000_000_000 - 60_000);
    mono = 1_479;
    expect(l.isLeader()).toBe(true);
    // Redis lets the key expire at 1000 + 600; the holder has given up by 1480, whatever Date.now() says.
    mono = 1_480;
    expect(l.isLeader()).toBe(false);
    expect(lost).toEqual(['expired']);
  });

  it('times its deadline by performance.now() unless told otherwise', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_700_000_000_000);
    const timers = new ManualTimers();
    const l = hangingLease(timers);
    await l.start();
    expect(l.isLeader()).toBe(true);
    vi.setSystemTime(1_700_000_000_000 - 60_000);
    // Lost within ttl − margin (480 ms) of real time, not a minute later.
    const end = performance.now() + 2_000;
    while (l.isLeader() && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect(l.isLeader()).toBe(false);
  });
});
