// The budget all h2c answers' backlogs share: its total follows every report, and past its limit the largest
// backlog known is cut (or the reporting one when none is known), never more than it takes.
import { describe, expect, it } from 'vitest';
import { BacklogBudget, type Backlogged } from '../../../src/dataplane/backlog-budget.js';

function answer(budget: BacklogBudget, name: string, cuts: string[]): Backlogged {
  const b: Backlogged = {
    backlog: 0,
    cut() {
      cuts.push(name);
      budget.report(b, 0);
    },
  };
  return b;
}

describe('BacklogBudget', () => {
  it('keeps the total of what every answer last reported', () => {
    const budget = new BacklogBudget(100);
    const cuts: string[] = [];
    const [a, b] = [answer(budget, 'a', cuts), answer(budget, 'b', cuts)] as [Backlogged, Backlogged];
    budget.report(a, 30);
    budget.report(b, 20);
    budget.report(a, 10);
    expect(budget.total).toBe(30);
    budget.report(b, 0);
    budget.report(a, 0);
    expect(budget.total).toBe(0);
    budget.enforce(a);
    expect(cuts).toEqual([]);
  });

  it('past its limit, cuts the largest backlog, not the one that reported, and only as many as needed', () => {
    const budget = new BacklogBudget(100);
    const cuts: string[] = [];
    const [slow, mid, fast] = ['slow', 'mid', 'fast'].map((n) => answer(budget, n, cuts)) as Backlogged[];
    budget.report(slow as Backlogged, 60);
    budget.report(mid as Backlogged, 30);
    budget.report(fast as Backlogged, 20);
    budget.enforce(fast as Backlogged);
    expect(cuts).toEqual(['slow']);
    expect(budget.total).toBe(50);
    expect([slow, mid, fast].map((b) => (b as Backlogged).backlog)).toEqual([0, 30, 20]);
  });

  it('after a cut, the next answer to report is the largest known: cut while the total stays past the limit', () => {
    const budget = new BacklogBudget(50);
    const cuts: string[] = [];
    const [a, b, c] = ['a', 'b', 'c'].map((n) => answer(budget, n, cuts)) as Backlogged[];
    budget.report(a as Backlogged, 40);
    budget.report(b as Backlogged, 30);
    budget.enforce(b as Backlogged);
    expect(cuts).toEqual(['a']);
    budget.report(c as Backlogged, 25);
    budget.enforce(c as Backlogged);
    expect(cuts).toEqual(['a', 'c']);
    expect(budget.total).toBeLessThanOrEqual(50);
  });

  it('forgets an answer whose cut did not report (its client was gone), so it never loops', () => {
    const budget = new BacklogBudget(10);
    const silent: Backlogged = { backlog: 0, cut: () => undefined };
    budget.report(silent, 50);
    budget.enforce(silent);
    expect([budget.total, silent.backlog]).toEqual([0, 0]);
  });
});
