// The access log's buffer: lines are written in batches (per tick, or at once past the batch size), one
// write at a time; while the output is stuck, lines beyond the bound are dropped and counted, and a
// failed write counts its lines as dropped. The output here is a fake the test releases by hand.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LineOutput } from '../../../src/dataplane/line-output.js';
import { LineSink } from '../../../src/dataplane/line-sink.js';

function heldOutput() {
  const writes: string[] = [];
  const pending: Array<(err: Error | null) => void> = [];
  const out: LineOutput = {
    write: (data, done) => {
      writes.push(data);
      pending.push(done);
    },
    reopen: () => undefined,
    close: async () => undefined,
  };
  const release = (err: Error | null = null): void => pending.shift()?.(err);
  return { out, writes, pending, release };
}

const line = (n: number, width = 10): string => `${String(n).padStart(width - 1, '0')}\n`;
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('LineSink', () => {
  it('batches the lines of one tick into one write', async () => {
    const o = heldOutput();
    const sink = new LineSink(o.out, () => undefined, { batchBytes: 1_000, maxBytes: 10_000 });
    for (let i = 0; i < 5; i++) sink.push(line(i));
    expect(o.writes).toEqual([]);
    await tick();
    expect(o.writes).toEqual([[0, 1, 2, 3, 4].map((i) => line(i)).join('')]);
    o.release();
    expect(sink.written).toBe(5);
  });

  it('writes at once past the batch size, and queues behind a write in flight', () => {
    const o = heldOutput();
    const sink = new LineSink(o.out, () => undefined, { batchBytes: 30, maxBytes: 10_000 });
    for (let i = 0; i < 3; i++) sink.push(line(i));
    expect(o.writes.length).toBe(1);
    for (let i = 3; i < 7; i++) sink.push(line(i));
    expect(o.writes.length).toBe(1);
    o.release();
    expect(o.writes.length).toBe(2);
    expect(o.writes[1]).toBe([3, 4, 5, 6].map((i) => line(i)).join(''));
    o.release();
    expect([sink.written, sink.dropped]).toEqual([7, 0]);
  });

  it('drops and counts lines beyond the bound while the output is stuck, then recovers', () => {
    const o = heldOutput();
    const sink = new LineSink(o.out, () => undefined, { batchBytes: 10, maxBytes: 100 });
    for (let i = 0; i < 25; i++) sink.push(line(i));
    // One line in flight and nine queued fill the 100-byte bound: the other fifteen are dropped.
    expect([o.writes.length, sink.dropped]).toEqual([1, 15]);
    o.release();
    o.release();
    expect([sink.written, sink.dropped]).toEqual([10, 15]);
    sink.push(line(99));
    o.release();
    expect(sink.written).toBe(11);
  });

  it('a failed write drops its lines, says why, and the next lines are written', async () => {
    const o = heldOutput();
    const errors: string[] = [];
    const sink = new LineSink(o.out, (e) => void errors.push(e.message), { batchBytes: 1_000, maxBytes: 10_000 });
    sink.push(line(1));
    sink.push(line(2));
    await tick();
    o.release(new Error('ENOSPC'));
    expect([sink.written, sink.dropped, errors]).toEqual([0, 2, ['ENOSPC']]);
    sink.push(line(3));
    await tick();
    o.release();
    expect(sink.written).toBe(1);
  });

  it('drained() waits for what is queued, bounded', async () => {
    const o = heldOutput();
    const sink = new LineSink(o.out, () => undefined, { batchBytes: 1_000, maxBytes: 10_000 });
    sink.push(line(1));
    const done = sink.drained(5_000);
    await tick();
    o.release();
    expect(await done).toBe(true);
    sink.push(line(2));
    expect(await sink.drained(20)).toBe(false);
  });

  describe('with a flush interval (fake timers: the interval is the subject)', () => {
    afterEach(() => void vi.useRealTimers());

    it('a line waits the interval for others to share its write, from the first line queued', () => {
      vi.useFakeTimers();
      const o = heldOutput();
      const sink = new LineSink(o.out, () => undefined, { batchBytes: 1_000, maxBytes: 10_000 });
      sink.setFlushMs(50);
      sink.push(line(1));
      vi.advanceTimersByTime(30);
      sink.push(line(2));
      vi.advanceTimersByTime(19);
      expect(o.writes).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(o.writes).toEqual([line(1) + line(2)]);
      o.release();
      // The next line starts a wait of its own.
      sink.push(line(3));
      vi.advanceTimersByTime(49);
      expect(o.writes).toHaveLength(1);
      vi.advanceTimersByTime(1);
      expect(o.writes[1]).toBe(line(3));
    });

    it('past the batch size, and when drained, the lines are written at once', async () => {
      vi.useFakeTimers();
      const o = heldOutput();
      const sink = new LineSink(o.out, () => undefined, { batchBytes: 30, maxBytes: 10_000 });
      sink.setFlushMs(10_000);
      for (let i = 0; i < 3; i++) sink.push(line(i));
      expect(o.writes).toEqual([[0, 1, 2].map((i) => line(i)).join('')]);
      o.release();
      sink.push(line(7));
      const done = sink.drained(1_000);
      expect(o.writes[1]).toBe(line(7));
      o.release();
      expect(await done).toBe(true);
    });

    it('a new interval writes what waits for the old one at once; the next lines wait for the new one', () => {
      vi.useFakeTimers();
      const o = heldOutput();
      const sink = new LineSink(o.out, () => undefined, { batchBytes: 1_000, maxBytes: 10_000 });
      sink.setFlushMs(10_000);
      sink.push(line(1));
      sink.setFlushMs(20);
      expect(o.writes).toEqual([line(1)]);
      o.release();
      sink.push(line(2));
      vi.advanceTimersByTime(19);
      expect(o.writes).toHaveLength(1);
      vi.advanceTimersByTime(1);
      expect(o.writes[1]).toBe(line(2));
    });

    it('a reopen (log rotation) writes what is held before the output reopens', () => {
      vi.useFakeTimers();
      const o = heldOutput();
      const events: string[] = [];
      const out: LineOutput = {
        write: (data, done) => {
          events.push(`write ${data.trim()}`);
          o.out.write(data, done);
        },
        reopen: () => void events.push('reopen'),
        close: async () => undefined,
      };
      const sink = new LineSink(out, () => undefined, { batchBytes: 1_000, maxBytes: 10_000 });
      sink.setFlushMs(10_000);
      sink.push(line(1));
      sink.reopen();
      expect(events).toEqual([`write ${line(1).trim()}`, 'reopen']);
    });

    it('an interval of 0 writes at the end of the turn', async () => {
      const o = heldOutput();
      const sink = new LineSink(o.out, () => undefined, { batchBytes: 1_000, maxBytes: 10_000 });
      sink.setFlushMs(0);
      sink.push(line(1));
      expect(o.writes).toEqual([]);
      await tick();
      expect(o.writes).toEqual([line(1)]);
    });
  });
});
