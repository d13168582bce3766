// veer's own answers watched until their client takes them: what a look decides (unreadStep), and the watch on a
// clock of the test's own: an answer taken at once is let go at its first look, one whose client takes none of it
// for the bound is cut (counted once), and one whose client takes bytes keeps its connection.
import { afterEach, describe, expect, it } from 'vitest';
import type { FrontResponse } from '../../../src/dataplane/front.js';
import { UnreadAnswers, unreadStep } from '../../../src/dataplane/unread-answers.js';
import { DeadlineSweep } from '../../../src/dataplane/upstream-deadlines.js';

describe('unreadStep', () => {
  const seen = { unread: 500, movedAt: 1_000 };

  it('lets an answer go once it is over, whatever is left', () => {
    expect(unreadStep(seen, true, 500, 1_000, 5_000)).toBe('over');
  });

  it('starts the bound at the first look, and again whenever bytes were taken', () => {
    expect(unreadStep({ unread: -1, movedAt: 0 }, false, 500, 1_000, 10)).toBe('moved');
    expect(unreadStep(seen, false, 499, 1_000, 5_000)).toBe('moved');
  });

  it('never cuts an answer with nothing left in veer (its last write completing)', () => {
    expect(unreadStep({ unread: 0, movedAt: 0 }, false, 0, 1_000, 5_000)).toBe('moved');
  });

  it('looks again at the end of the bound, and cuts from then on', () => {
    expect(unreadStep(seen, false, 500, 1_000, 1_500)).toBe(2_000);
    expect(unreadStep(seen, false, 500, 1_000, 2_000)).toBe('cut');
    expect(unreadStep(seen, false, 600, 1_000, 2_500)).toBe('cut');
  });
});

/** An answer's writable side as the watch reads it. */
function answer(left: number) {
  const res = { writableLength: left, writableFinished: false, destroyed: false, cuts: 0 };
  const destroy = () => {
    res.cuts++;
    res.destroyed = true;
    return res;
  };
  return { res, front: Object.assign(res, { destroy }) as unknown as FrontResponse };
}

/** Sweeps made by a test: their interval (which sees the test's clock too) stops after it. */
const sweeps: DeadlineSweep[] = [];
afterEach(() => sweeps.splice(0).forEach((s) => s.stop()));

function watcher() {
  let now = 0;
  const cut: string[] = [];
  const sweep = new DeadlineSweep(50, () => now);
  sweeps.push(sweep);
  const unread = new UnreadAnswers(1_000, () => cut.push('client_closed'), sweep);
  const at = (ms: number) => {
    now = ms;
    sweep.check();
  };
  return { unread, cut, at };
}

/** The end of the turn: an answer's first look (once the turn's writes went out). */
const turnEnd = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('UnreadAnswers', () => {
  it('never holds an answer taken by the end of its turn: no sweep, nothing kept', async () => {
    const { unread, cut } = watcher();
    const answers = [answer(300), answer(300), answer(300)];
    for (const a of answers) unread.watch(a.front);
    for (const a of answers) [a.res.writableFinished, a.res.writableLength] = [true, 0];
    await turnEnd();
    expect([unread.size, cut]).toEqual([0, []]);
  });

  it('lets an answer taken at once go at its first look', async () => {
    const { unread, cut, at } = watcher();
    const a = answer(300);
    unread.watch(a.front);
    await turnEnd();
    expect(unread.size).toBe(1);
    a.res.writableFinished = true;
    a.res.writableLength = 0;
    at(50);
    expect([unread.size, a.res.cuts, cut]).toEqual([0, 0, []]);
  });

  it("cuts an answer whose client took none of it for the bound, counted once, on the answer's own bound", async () => {
    const { unread, cut, at } = watcher();
    const a = answer(300);
    const b = answer(300);
    unread.watch(a.front);
    unread.watch(b.front, 5_000);
    await turnEnd();
    at(50);
    at(1_000);
    expect(a.res.cuts).toBe(0);
    at(1_050);
    expect([a.res.cuts, b.res.cuts, cut]).toEqual([1, 0, ['client_closed']]);
    at(5_050);
    expect([b.res.cuts, cut.length, unread.size]).toEqual([1, 2, 0]);
  });

  it('keeps an answer whose client takes bytes, however slowly, and lets it go once over', async () => {
    const { unread, cut, at } = watcher();
    const a = answer(1_000_000);
    unread.watch(a.front);
    await turnEnd();
    at(50);
    for (let t = 1_050; t <= 10_050; t += 1_000) {
      a.res.writableLength -= 1;
      at(t);
    }
    expect([a.res.cuts, unread.size]).toEqual([0, 1]);
    a.res.writableFinished = true;
    a.res.writableLength = 0;
    at(11_050);
    expect([a.res.cuts, unread.size, cut]).toEqual([0, 0, []]);
  });

  it('never watches an answer whose connection is gone', async () => {
    const { unread } = watcher();
    const a = answer(300);
    a.res.destroyed = true;
    unread.watch(a.front);
    await turnEnd();
    expect(unread.size).toBe(0);
  });
});
