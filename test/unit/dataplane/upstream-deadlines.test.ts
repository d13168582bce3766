// The sweep that holds exchanges to their upstream bounds (one array, no timer per request) and the rule
// that says whether a passed deadline is the upstream's fault, on a clock the test moves.
import { afterEach, describe, expect, it } from 'vitest';
import { DeadlineSweep, overdue, type Deadlined, type Waiting } from '../../../src/dataplane/upstream-deadlines.js';

let clock = 0;
const sweeps: DeadlineSweep[] = [];
afterEach(() => sweeps.splice(0).forEach((s) => s.stop()));

function sweep(): DeadlineSweep {
  const s = new DeadlineSweep(60_000, () => clock);
  sweeps.push(s);
  return s;
}

function item(name: string, fired: string[], onExpired?: (now: number) => void): Deadlined {
  return {
    deadline: 0,
    slot: -1,
    expired(now) {
      fired.push(name);
      onExpired?.(now);
    },
  };
}

describe('DeadlineSweep', () => {
  it('fires each passed deadline once, in any order of watching, and keeps the rest', () => {
    clock = 1_000;
    const s = sweep();
    const fired: string[] = [];
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => item(n, fired));
    s.watch(a as Deadlined, 100);
    s.watch(b as Deadlined, 300);
    s.watch(c as Deadlined, 50);
    s.watch(d as Deadlined, 500);
    clock = 1_150;
    s.check();
    expect(fired.sort()).toEqual(['a', 'c']);
    expect(s.size).toBe(2);
    clock = 1_400;
    s.check();
    s.check();
    expect(fired).toEqual(['a', 'c', 'b']);
    expect([a, b, c].map((x) => (x as Deadlined).slot)).toEqual([-1, -1, -1]);
    expect(s.size).toBe(1);
  });

  it('moves a deadline without a second slot, and forgets an unwatched one', () => {
    clock = 0;
    const s = sweep();
    const fired: string[] = [];
    const a = item('a', fired);
    const b = item('b', fired);
    s.watch(a, 100);
    s.watch(a, 1_000);
    s.watch(b, 100);
    expect(s.size).toBe(2);
    s.unwatch(b);
    s.unwatch(b);
    expect(s.size).toBe(1);
    clock = 500;
    s.check();
    expect(fired).toEqual([]);
    clock = 1_000;
    s.check();
    expect(fired).toEqual(['a']);
    expect(s.size).toBe(0);
  });

  it('lets an expired item watch itself again and unwatch another one mid-sweep', () => {
    clock = 0;
    const s = sweep();
    const fired: string[] = [];
    const others = Array.from({ length: 5 }, (_, i) => item(`o${i}`, fired));
    const again = item('again', fired, (now) => s.watchUntil(again, now + 100));
    const killer = item('killer', fired, () => s.unwatch(others[0] as Deadlined));
    s.watch(others[0] as Deadlined, 10);
    s.watch(again, 10);
    for (const o of others.slice(1)) s.watch(o, 1_000);
    s.watch(killer, 10);
    clock = 20;
    s.check();
    // o0 was either fired before the killer ran or removed by it: never both, never twice.
    expect(fired.filter((f) => f === 'o0').length).toBeLessThanOrEqual(1);
    expect(fired.filter((f) => f === 'again')).toEqual(['again']);
    expect(fired.filter((f) => f === 'killer')).toEqual(['killer']);
    expect(s.size).toBe(5);
    clock = 120;
    s.check();
    expect(fired.filter((f) => f === 'again')).toEqual(['again', 'again']);
  });
});

describe('overdue', () => {
  const waiting = (over: Partial<Waiting> = {}): Waiting => ({
    gotHeaders: false,
    body: null,
    down: { paused: false, resumedAt: 0, movedAt: 0 },
    ...over,
  });

  it('blames the upstream for headers that did not come in time', () => {
    expect(overdue(waiting(), 30_000, 50_000)).toBe('headers');
    expect(overdue(waiting({ body: { complete: true, heldBack: false } }), 30_000, 50_000)).toBe('headers');
  });

  it('waits on while the client is still sending a body the upstream takes (the body has its own bound)', () => {
    expect(overdue(waiting({ body: { complete: false, heldBack: false } }), 30_000, 50_000)).toBe(80_000);
  });

  it('blames the upstream when it stopped taking the body', () => {
    expect(overdue(waiting({ body: { complete: false, heldBack: true } }), 30_000, 50_000)).toBe('headers');
  });

  it('blames a stalled body, but not while a slow client holds the upstream back, nor right after it drained', () => {
    const body = { gotHeaders: true } as const;
    expect(overdue(waiting(body), 60_000, 100_000)).toBe('body');
    const down = (paused: boolean, resumedAt: number, movedAt = 0) =>
      waiting({ ...body, down: { paused, resumedAt, movedAt } });
    expect(overdue(down(true, 0, 90_000), 60_000, 100_000)).toBe(150_000);
    expect(overdue(down(false, 90_000), 60_000, 100_000)).toBe(150_000);
    expect(overdue(down(false, 30_000), 60_000, 100_000)).toBe('body');
  });

  it('blames the client, not the upstream, when it took none of a paused answer for the whole bound', () => {
    const paused = (movedAt: number) => waiting({ gotHeaders: true, down: { paused: true, resumedAt: 0, movedAt } });
    expect(overdue(paused(40_000), 60_000, 100_000)).toBe('client');
    expect(overdue(paused(40_001), 60_000, 100_000)).toBe(100_001);
  });
});
