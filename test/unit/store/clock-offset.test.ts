// The offset of this replica's clock from Redis's: the median of the last few heartbeats, each taken at the
// middle of its round trip; the whole-second shift of metric keys moves only well past a half second; and a
// replica more than a second off says so once, not every heartbeat.
import { describe, expect, it } from 'vitest';
import type { LogFields, Logger, LogLevel } from '../../../src/domain/log.js';
import { ClockOffset } from '../../../src/store/clock-offset.js';

function recording(): Logger & { lines: Array<{ level: LogLevel; msg: string; fields?: LogFields }> } {
  const lines: Array<{ level: LogLevel; msg: string; fields?: LogFields }> = [];
  return { lines, log: (level, msg, fields) => void lines.push({ level, msg, ...(fields ? { fields } : {}) }) };
}

/** A heartbeat sent at `sent` (local), answered `rtt` later, Redis's clock `ahead` ms ahead mid-way. */
const beat = (o: ClockOffset, sent: number, rtt: number, ahead: number): void =>
  o.sample(sent + rtt / 2 + ahead, sent, sent + rtt);

describe('ClockOffset', () => {
  it('is unknown before the first heartbeat, then the median of the last five, mid-round-trip', () => {
    const o = new ClockOffset(recording());
    expect(o.offsetMs()).toBeNull();
    expect(o.secondsAhead()).toBe(0);
    beat(o, 1_000, 40, 250);
    expect(o.offsetMs()).toBe(250);
    // One odd sample among the last five does not move it; the sixth pushes the first out.
    for (const ahead of [260, 9_000, 240, 255]) beat(o, 2_000, 10, ahead);
    expect(o.offsetMs()).toBe(255);
    beat(o, 3_000, 10, 270);
    expect(o.offsetMs()).toBe(260);
  });

  it('ignores a heartbeat whose round trip took over a second (or went backwards)', () => {
    const o = new ClockOffset(recording());
    beat(o, 1_000, 1_500, 5_000);
    o.sample(5_000, 2_000, 1_999);
    o.sample(Number.NaN, 2_000, 2_010);
    expect(o.offsetMs()).toBeNull();
  });

  it('shifts metric seconds by whole seconds, only once the offset is well past a half second', () => {
    const o = new ClockOffset(recording());
    beat(o, 0, 10, 650);
    expect(o.secondsAhead()).toBe(0);
    const far = new ClockOffset(recording());
    for (let i = 0; i < 5; i++) beat(far, i * 1_000, 10, -2_300);
    expect(far.secondsAhead()).toBe(-2);
    // Hovering around -2.5 s: still -2 (no flipping between -2 and -3).
    for (let i = 0; i < 5; i++) beat(far, i * 1_000, 10, i % 2 === 0 ? -2_450 : -2_550);
    expect(far.secondsAhead()).toBe(-2);
    for (let i = 0; i < 5; i++) beat(far, i * 1_000, 10, -3_100);
    expect(far.secondsAhead()).toBe(-3);
  });

  it('warns once when more than a second off, and says when it agrees again', () => {
    const log = recording();
    const o = new ClockOffset(log);
    beat(o, 0, 10, 900);
    expect(log.lines).toEqual([]);
    for (let i = 0; i < 6; i++) beat(o, i * 1_000, 10, 1_500);
    expect(log.lines).toHaveLength(1);
    // Said at the first median past a second: that of 900 and 1500.
    expect(log.lines[0]).toMatchObject({ level: 'warn', fields: { offsetMs: 1_200, shiftSeconds: 1 } });
    for (let i = 0; i < 5; i++) beat(o, i * 1_000, 10, 100);
    expect(log.lines.map((l) => l.level)).toEqual(['warn', 'info']);
    expect(o.secondsAhead()).toBe(0);
  });
});
