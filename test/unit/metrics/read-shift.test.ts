// The judge's shift onto Redis's clock is held while reads go on (a change would move the controller's place on
// Redis's clock) and taken anew once they paused, by the monotonic clock. The 0 read before the first measurement
// is a guess and is never held.
import { describe, expect, it } from 'vitest';
import { HOLD_IDLE_MS, ReadShift } from '../../../src/metrics/read-shift.js';

describe('ReadShift', () => {
  it('holds the shift while reads go on, takes a new one after a pause, never holds the 0 before a measurement', () => {
    let measured: number | null = null;
    let mono = 1_000;
    const shift = new ReadShift(
      () => measured,
      () => mono,
    );
    expect(shift.measured).toBe(false);
    expect(shift.take()).toBe(0);
    measured = -10;
    mono += 250;
    // The first measurement mid-reads: taken at the next read (the 0 before it was a guess), then held.
    expect(shift.measured).toBe(true);
    expect(shift.take()).toBe(-10);
    measured = 0;
    for (let i = 0; i < 100; i++) {
      mono += HOLD_IDLE_MS / 2;
      expect(shift.take()).toBe(-10);
    }
    expect(shift.now()).toBe(0);
    mono += HOLD_IDLE_MS + 1;
    expect(shift.take()).toBe(0);
    measured = -10;
    mono += HOLD_IDLE_MS + 1;
    expect(shift.take()).toBe(-10);
    measured = 3;
    mono += HOLD_IDLE_MS;
    expect(shift.take()).toBe(-10);
    mono += HOLD_IDLE_MS + 1;
    expect(shift.take()).toBe(3);
  });

  it('reads before the first measurement with 0, also for the unheld shift', () => {
    const shift = new ReadShift(
      () => null,
      () => 0,
    );
    expect(shift.now()).toBe(0);
    expect(shift.take()).toBe(0);
  });

  it('holds across pauses shorter than the idle bound it is given (a rollout analysing every 60 s)', () => {
    let measured: number | null = 10;
    let mono = 0;
    const shift = new ReadShift(
      () => measured,
      () => mono,
      () => 3 * 60_000,
    );
    expect(shift.take()).toBe(10);
    measured = 0;
    for (let i = 0; i < 5; i++) {
      mono += 60_000;
      expect(shift.take()).toBe(10);
    }
    mono += 3 * 60_000 + 1;
    expect(shift.take()).toBe(0);
  });
});
