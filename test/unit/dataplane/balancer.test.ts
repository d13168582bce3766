import { describe, expect, it } from 'vitest';
import { seededRandom, type Random } from '../../../src/domain/clock.js';
import {
  noteFailure,
  noteSuccess,
  pickTarget,
  type BalancedTarget,
  type OutlierPolicy,
} from '../../../src/dataplane/balancer.js';

interface T extends BalancedTarget {
  id: string;
}

function target(id: string, over: Partial<BalancedTarget> = {}): T {
  return { id, outstanding: 0, consecutiveFailures: 0, ejectedUntil: 0, healthy: true, ...over };
}

function pool(n: number): T[] {
  return Array.from({ length: n }, (_, i) => target(`t${i}`));
}

/** Returns the given values in order; fails loudly when the code draws more than expected. */
function scripted(values: number[]): Random {
  let i = 0;
  return () => {
    if (i >= values.length) throw new Error(`random() called more than ${values.length} times`);
    return values[i++] as number;
  };
}

const NOW = 1_000_000;
const POLICY: OutlierPolicy = { consecutiveErrors: 3, ejectFor: 30_000, maxEjectedPercent: 50 };

function countPicks(targets: T[], draws: number, seed: number, exclude?: T): Map<string, number> {
  const rnd = seededRandom(seed);
  const counts = new Map<string, number>();
  for (let k = 0; k < draws; k++) {
    const t = pickTarget(targets, NOW, rnd, exclude);
    const id = t === undefined ? 'none' : t.id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe('pickTarget', () => {
  it('returns undefined for an empty list', () => {
    expect(pickTarget<T>([], NOW, scripted([]))).toBeUndefined();
  });

  it('returns the single target without drawing, unless it is excluded or ineligible', () => {
    const only = target('only');
    expect(pickTarget([only], NOW, scripted([]))).toBe(only);
    expect(pickTarget([only], NOW, scripted([]), only)).toBeUndefined();
    expect(pickTarget([target('sick', { healthy: false })], NOW, scripted([]))).toBeUndefined();
    expect(pickTarget([target('out', { ejectedUntil: NOW + 1 })], NOW, scripted([]))).toBeUndefined();
  });

  it('samples two distinct targets and takes the less busy one', () => {
    const ts = pool(3);
    // random 0 → i = 0; random 0.5 → j = floor(0.5 * 2) = 1, bumped past i to 2.
    (ts[0] as T).outstanding = 5;
    (ts[1] as T).outstanding = 0; // the idlest, but not sampled
    (ts[2] as T).outstanding = 3;
    expect(pickTarget(ts, NOW, scripted([0, 0.5]))).toBe(ts[2]);
    (ts[0] as T).outstanding = 1;
    expect(pickTarget(ts, NOW, scripted([0, 0.5]))).toBe(ts[0]);
  });

  it('never picks the strictly busiest target when another is eligible', () => {
    const ts = pool(4);
    ts.forEach((t, i) => (t.outstanding = i));
    const counts = countPicks(ts, 2000, 11);
    expect(counts.get('t3')).toBeUndefined();
    // t0 wins every pair it is in: 3 of the 6 pairs.
    expect(counts.get('t0')).toBeGreaterThan(800);
    expect(counts.get('t1')).toBeGreaterThan(0);
    expect(counts.get('t2')).toBeGreaterThan(0);
  });

  it('honours exclude whenever another target exists', () => {
    for (let n = 2; n <= 5; n++) {
      const ts = pool(n);
      const counts = countPicks(ts, 500, n, ts[0]);
      expect(counts.get('t0'), `n=${n}`).toBeUndefined();
      expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(500);
    }
  });

  it('skips unhealthy and ejected targets', () => {
    const ts = [
      target('sick', { healthy: false }),
      target('ejected', { ejectedUntil: NOW + 1 }),
      target('ok1'),
      target('ok2'),
    ];
    const counts = countPicks(ts, 1000, 3);
    expect(counts.get('sick')).toBeUndefined();
    expect(counts.get('ejected')).toBeUndefined();
    expect((counts.get('ok1') ?? 0) + (counts.get('ok2') ?? 0)).toBe(1000);
  });

  it('finds the one eligible target even when both samples are ineligible', () => {
    const ts = [
      target('a', { healthy: false }),
      target('b', { healthy: false }),
      target('c'),
      target('d', { healthy: false }),
    ];
    const counts = countPicks(ts, 500, 5);
    expect(counts.get('c')).toBe(500);
  });

  it('treats an ejection that ends now as over', () => {
    const ts = [target('back', { ejectedUntil: NOW }), target('busy', { outstanding: 9 })];
    expect(pickTarget(ts, NOW, scripted([0, 0]))).toBe(ts[0]);
    expect(pickTarget(ts, NOW - 1, scripted([0, 0]))).toBe(ts[1]);
  });

  it('picks nothing when no target is eligible (no panic fallback to an unhealthy or ejected one)', () => {
    const ts = [
      target('late', { ejectedUntil: NOW + 500 }),
      target('sick', { healthy: false }),
      target('later', { ejectedUntil: NOW + 900 }),
    ];
    for (let seed = 0; seed < 50; seed++)
      expect(pickTarget(ts, NOW, scripted([(seed % 10) / 10, ((seed * 7) % 10) / 10]))).toBeUndefined();
  });

  it('never falls back to the excluded target', () => {
    const ts = [target('a'), target('b', { healthy: false })];
    expect(countPicks(ts, 100, 1, ts[0])).toEqual(new Map([['none', 100]]));
    expect(countPicks(ts, 100, 1, ts[1])).toEqual(new Map([['a', 100]]));
  });
});

describe('noteFailure / noteSuccess', () => {
  it('ejects after N consecutive failures and resets the streak', () => {
    const ts = pool(4);
    const t = ts[0] as T;
    expect(noteFailure(t, ts, POLICY, NOW)).toBe(false);
    expect(noteFailure(t, ts, POLICY, NOW)).toBe(false);
    expect(t.ejectedUntil).toBe(0);
    expect(noteFailure(t, ts, POLICY, NOW)).toBe(true);
    expect(t.ejectedUntil).toBe(NOW + POLICY.ejectFor);
    expect(t.consecutiveFailures).toBe(0);
  });

  it('does not extend an ejection already running', () => {
    const ts = pool(4);
    const t = ts[0] as T;
    for (let k = 0; k < 3; k++) noteFailure(t, ts, POLICY, NOW);
    for (let k = 0; k < 5; k++) expect(noteFailure(t, ts, POLICY, NOW + 10)).toBe(false);
    expect(t.ejectedUntil).toBe(NOW + POLICY.ejectFor);
  });

  it('noteSuccess breaks the streak', () => {
    const ts = pool(4);
    const t = ts[0] as T;
    noteFailure(t, ts, POLICY, NOW);
    noteFailure(t, ts, POLICY, NOW);
    noteSuccess(t);
    expect(t.consecutiveFailures).toBe(0);
    expect(noteFailure(t, ts, POLICY, NOW)).toBe(false);
    expect(noteFailure(t, ts, POLICY, NOW)).toBe(false);
    expect(t.ejectedUntil).toBe(0);
    expect(noteFailure(t, ts, POLICY, NOW)).toBe(true);
  });

  it('never ejects the last eligible target', () => {
    const policy = { ...POLICY, maxEjectedPercent: 100 };
    const ts = pool(2);
    const [a, b] = ts as [T, T];
    for (let k = 0; k < 3; k++) noteFailure(a, ts, policy, NOW);
    expect(a.ejectedUntil).toBeGreaterThan(NOW);
    for (let k = 0; k < 10; k++) expect(noteFailure(b, ts, policy, NOW)).toBe(false);
    expect(b.ejectedUntil).toBe(0);
  });

  it('never ejects the last healthy target when the others are unhealthy', () => {
    const policy = { ...POLICY, maxEjectedPercent: 100 };
    const ts = [target('ok'), target('sick1', { healthy: false }), target('sick2', { healthy: false })];
    for (let k = 0; k < 10; k++) expect(noteFailure(ts[0] as T, ts, policy, NOW)).toBe(false);
    expect((ts[0] as T).ejectedUntil).toBe(0);
  });

  it('never ejects a single-target pool', () => {
    const ts = pool(1);
    for (let k = 0; k < 10; k++)
      expect(noteFailure(ts[0] as T, ts, { ...POLICY, maxEjectedPercent: 100 }, NOW)).toBe(false);
  });

  it('respects maxEjectedPercent', () => {
    const ts = pool(4);
    const ejectAttempt = (t: T): boolean => {
      let ejected = false;
      for (let k = 0; k < 3; k++) ejected = noteFailure(t, ts, POLICY, NOW);
      return ejected;
    };
    expect(ejectAttempt(ts[0] as T)).toBe(true); // 25 %
    expect(ejectAttempt(ts[1] as T)).toBe(true); // 50 %
    expect(ejectAttempt(ts[2] as T)).toBe(false); // would be 75 %
    expect((ts[2] as T).ejectedUntil).toBe(0);
    expect(ts.filter((t) => t.ejectedUntil > NOW).length).toBe(2);
  });

  it('ejects nobody when maxEjectedPercent is 0', () => {
    const ts = pool(10);
    for (let k = 0; k < 10; k++)
      expect(noteFailure(ts[0] as T, ts, { ...POLICY, maxEjectedPercent: 0 }, NOW)).toBe(false);
  });

  it('lets an ejection expire: the target is picked again and needs a fresh streak', () => {
    const ts = pool(2);
    const [a, b] = ts as [T, T];
    for (let k = 0; k < 3; k++) noteFailure(a, ts, POLICY, NOW);
    const until = NOW + POLICY.ejectFor;
    // a is the idler of the pair, so only ejection keeps it out.
    b.outstanding = 5;
    expect(pickTarget(ts, until - 1, scripted([0, 0]))).toBe(b);
    expect(pickTarget(ts, until, scripted([0, 0]))).toBe(a);
    expect(noteFailure(a, ts, POLICY, until)).toBe(false);
    expect(noteFailure(a, ts, POLICY, until)).toBe(false);
    expect(noteFailure(a, ts, POLICY, until)).toBe(true);
    expect(a.ejectedUntil).toBe(until + POLICY.ejectFor);
  });

  it('stops counting an ejection once it has expired', () => {
    const ts = pool(2);
    const [a, b] = ts as [T, T];
    for (let k = 0; k < 3; k++) noteFailure(a, ts, POLICY, NOW);
    for (let k = 0; k < 3; k++) expect(noteFailure(b, ts, POLICY, NOW + 1)).toBe(false);
    const later = NOW + POLICY.ejectFor;
    expect(noteFailure(b, ts, POLICY, later)).toBe(true);
  });
});
