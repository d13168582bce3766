// The primary's choice of a worker for the next connection: the fewest connections open, waiting a few
// milliseconds at most for a less loaded worker that is about to be free.
import { describe, expect, it } from 'vitest';
import { chooseWorker, PREFER_MS } from '../../../src/workers/worker-choice.js';

describe('chooseWorker', () => {
  it('none when no worker is free, whatever is in hand', () => {
    expect(chooseWorker([], [], 0)).toEqual({ kind: 'none' });
    expect(chooseWorker([], [{ id: 1, load: 0, givenAt: 0 }], 0)).toEqual({ kind: 'none' });
  });

  it('gives to the free worker with the fewest connections, not the first one free', () => {
    const free = [
      { id: 1, load: 30 },
      { id: 2, load: 4 },
      { id: 3, load: 9 },
    ];
    expect(chooseWorker(free, [], 100)).toEqual({ kind: 'give', id: 2 });
  });

  it('waits for a worker with far fewer that was handed one a moment ago, until its preference ends', () => {
    const choice = chooseWorker([{ id: 1, load: 40 }], [{ id: 2, load: 5, givenAt: 100 }], 103);
    expect(choice).toEqual({ kind: 'wait', until: 100 + PREFER_MS });
  });

  it('waits until the first preference ends when several less loaded workers are in hand', () => {
    const busy = [
      { id: 2, load: 5, givenAt: 104 },
      { id: 3, load: 1, givenAt: 101 },
    ];
    expect(chooseWorker([{ id: 1, load: 40 }], busy, 105)).toEqual({ kind: 'wait', until: 101 + PREFER_MS });
  });

  it('gives to the free one once the less loaded worker has held its connection PREFER_MS (a busy loop)', () => {
    const busy = [{ id: 2, load: 5, givenAt: 100 }];
    expect(chooseWorker([{ id: 1, load: 40 }], busy, 100 + PREFER_MS)).toEqual({ kind: 'give', id: 1 });
  });

  it('does not wait for a difference within the slack (two, and a tenth of the smaller)', () => {
    expect(chooseWorker([{ id: 1, load: 7 }], [{ id: 2, load: 5, givenAt: 100 }], 101)).toEqual({
      kind: 'give',
      id: 1,
    });
    expect(chooseWorker([{ id: 1, load: 8 }], [{ id: 2, load: 5, givenAt: 100 }], 101).kind).toBe('wait');
    expect(chooseWorker([{ id: 1, load: 112 }], [{ id: 2, load: 100, givenAt: 100 }], 101).kind).toBe('give');
    expect(chooseWorker([{ id: 1, load: 113 }], [{ id: 2, load: 100, givenAt: 100 }], 101).kind).toBe('wait');
  });
});
