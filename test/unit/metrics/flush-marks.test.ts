import { describe, expect, it } from 'vitest';
import { completeSecond, replicaMark, STALE_MARK_S } from '../../../src/metrics/flush-marks.js';

const S = 1_700_000_000;
const marks = (entries: Array<[string, number]>): Map<string, number> =>
  new Map(entries.map(([id, sec]) => [id === 'newest' ? id : replicaMark(id), sec]));

describe('completeSecond (when a second is whole across replicas)', () => {
  it('is the oldest of the live replicas’ marks when every one of them is ahead of the fixed wait', () => {
    const m = marks([
      ['newest', S + 3],
      ['a', S + 3],
      ['b', S + 2],
    ]);
    expect(completeSecond(S, { marks: m, alive: ['a', 'b'] })).toBe(S + 2);
  });

  it('waits the fixed time for a live replica that has not marked a second yet', () => {
    expect(completeSecond(S, { marks: marks([['a', S + 3]]), alive: ['a', 'b'] })).toBe(S);
  });

  it('never goes below the fixed wait: a replica far behind or gone costs what it did before the marks', () => {
    const m = marks([
      ['a', S + 3],
      ['b', S - 1],
    ]);
    expect(completeSecond(S, { marks: m, alive: ['a', 'b'] })).toBe(S);
    // No replica known at all, or marks only from the any-replica member: the fixed wait.
    expect(completeSecond(S, { marks: marks([['newest', S + 3]]), alive: [] })).toBe(S);
  });

  it('waits for a replica that marked lately even when its heartbeat is missing from the registry', () => {
    const m = marks([
      ['a', S + 3],
      ['b', S + 1],
    ]);
    expect(completeSecond(S, { marks: m, alive: ['a'] })).toBe(S + 1);
  });

  it('forgets a replica whose mark trails the fixed wait by more than STALE_MARK_S (gone without leaving)', () => {
    const m = marks([
      ['a', S + 3],
      ['b', S - STALE_MARK_S - 1],
    ]);
    expect(completeSecond(S, { marks: m, alive: ['a'] })).toBe(S + 3);
    // While still live in the registry it is waited for, so the fixed wait rules.
    expect(completeSecond(S, { marks: m, alive: ['a', 'b'] })).toBe(S);
  });

  it('waits for a mark exactly STALE_MARK_S behind the fixed wait, not for one a second older', () => {
    const at = (b: number): number =>
      completeSecond(S, {
        marks: marks([
          ['a', S + 3],
          ['b', b],
        ]),
        alive: ['a'],
      });
    expect(at(S - STALE_MARK_S)).toBe(S);
    expect(at(S - STALE_MARK_S - 1)).toBe(S + 3);
  });
});
