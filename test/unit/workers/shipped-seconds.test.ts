// When a finished second is whole in the primary's windows: once every live worker has shipped it, and
// a silent worker holds that back at most MAX_HOLD_MS.
import { describe, expect, it } from 'vitest';
import { MERGED_AFTER_MS } from '../../../src/workers/metrics-ship.js';
import { MAX_HOLD_MS, ShippedSeconds } from '../../../src/workers/shipped-seconds.js';

const T = 1_000_000; // a whole second, in ms

describe('ShippedSeconds', () => {
  it('a second is complete once every live worker has shipped it, and never before it ended', () => {
    const s = new ShippedSeconds();
    s.joined(1, T - 2_000);
    s.joined(2, T - 2_000);
    expect(s.lastComplete(T + 1_300)).toBe(T / 1000 - 3);
    s.shipped(1, T / 1000 - 1);
    expect(s.lastComplete(T + 1_300)).toBe(T / 1000 - 3);
    s.shipped(2, T / 1000);
    expect(s.lastComplete(T + 1_300)).toBe(T / 1000 - 1);
    s.shipped(1, T / 1000 + 5); // a last report covers the current second too
    expect(s.lastComplete(T + 1_300)).toBe(T / 1000);
    // An older report changes nothing.
    s.shipped(2, T / 1000 - 3);
    expect(s.lastComplete(T + 1_300)).toBe(T / 1000);
  });

  it('a worker that joins has nothing before its start; one that exits holds nothing back', () => {
    const s = new ShippedSeconds();
    s.joined(1, T - 10_000);
    s.shipped(1, T / 1000 - 1);
    s.joined(2, T + 200);
    expect(s.lastComplete(T + 1_300)).toBe(T / 1000 - 1);
    s.gone(2);
    s.gone(1);
    // No worker: the fixed settle time.
    expect(s.lastComplete(T + 1_300)).toBe(Math.floor((T + 1_300 - MERGED_AFTER_MS) / 1000) - 1);
    s.shipped(3, T / 1000); // never joined: ignored
    expect(s.lastComplete(T + 1_300)).toBe(Math.floor((T + 1_300 - MERGED_AFTER_MS) / 1000) - 1);
  });

  it('a silent worker holds the readers back at most MAX_HOLD_MS', () => {
    const s = new ShippedSeconds();
    s.joined(1, T - 60_000);
    s.joined(2, T - 60_000);
    s.shipped(1, T / 1000 + 30);
    const now = T + 31_500;
    expect(s.lastComplete(now)).toBe(Math.floor((now - MAX_HOLD_MS) / 1000) - 1);
  });
});
