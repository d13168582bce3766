import { describe, expect, it } from 'vitest';
import { parallelScavenge } from '../../../src/workers/scavenge.js';

describe('parallelScavenge', () => {
  it('keeps the helpers only when each data-plane process has a core to spare', () => {
    expect(parallelScavenge(1, 1)).toBe(false); // pinned to one core
    expect(parallelScavenge(2, 1)).toBe(true); // the default on two cores: one process, one spare
    expect(parallelScavenge(2, 2)).toBe(false);
    expect(parallelScavenge(8, 8)).toBe(false); // workers: auto
    expect(parallelScavenge(8, 4)).toBe(true);
    expect(parallelScavenge(4, 6)).toBe(false); // more workers than cores
  });
});
