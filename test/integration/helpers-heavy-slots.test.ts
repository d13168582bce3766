// The heavy-test slots (test/helpers/heavy-slots.ts): no more holders than slots, a waiter goes on when
// a slot is released and gives up at its bound with what it waited for, and a slot whose holder died is
// taken over. Each case uses a run of its own, so the suite's real slots are untouched.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeHeavySlots, takeHeavySlot } from '../helpers/heavy-slots.js';
import { exited, killTracked, spawnTracked } from '../helpers/process.js';

const runs: string[] = [];
const newRun = (): string => {
  const run = `test-${process.pid}-${runs.length}-${Date.now().toString(36)}`;
  runs.push(run);
  return run;
};
const slotFile = (run: string, i: number): string => join(tmpdir(), 'veer-test-heavy', run, `slot-${i}`);

afterAll(async () => {
  for (const run of runs) removeHeavySlots(run);
  await killTracked();
});

describe('heavy-test slots', () => {
  it('holds no more than its slots; a waiter takes the one released', async () => {
    const run = newRun();
    const first = await takeHeavySlot({ run, slots: 2 });
    const second = await takeHeavySlot({ run, slots: 2 });
    // Both held: a third caller finds none within its bound.
    await expect(takeHeavySlot({ run, slots: 2, timeoutMs: 250 })).rejects.toThrow(/no heavy-test slot of 2/);
    const waiting = takeHeavySlot({ run, slots: 2, timeoutMs: 10_000 });
    second();
    const third = await waiting;
    expect(readFileSync(slotFile(run, 1), 'utf8')).toBe(String(process.pid));
    first();
    expect(existsSync(slotFile(run, 0))).toBe(false);
    third();
    expect(existsSync(slotFile(run, 1))).toBe(false);
  });

  it('gives up at its bound, naming the slots it waited for', async () => {
    const run = newRun();
    const held = await takeHeavySlot({ run, slots: 1 });
    const started = Date.now();
    await expect(takeHeavySlot({ run, slots: 1, timeoutMs: 300 })).rejects.toThrow(
      /no heavy-test slot of 1 came free in 300 ms/,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    held();
  });

  it("takes over a slot whose holder is gone, and a release never removes another's slot", async () => {
    const run = newRun();
    const gone = spawnTracked(process.execPath, ['-e', '0']);
    await exited(gone);
    mkdirSync(join(tmpdir(), 'veer-test-heavy', run), { recursive: true });
    writeFileSync(slotFile(run, 0), String(gone.pid));
    const release = await takeHeavySlot({ run, slots: 1, timeoutMs: 1_000 });
    expect(readFileSync(slotFile(run, 0), 'utf8')).toBe(String(process.pid));
    // Taken over meanwhile (as after this fork was thought gone): this release leaves it alone.
    writeFileSync(slotFile(run, 0), '1');
    release();
    expect(readFileSync(slotFile(run, 0), 'utf8')).toBe('1');
    // Pid 1 lives: its slot is not taken.
    await expect(takeHeavySlot({ run, slots: 1, timeoutMs: 200 })).rejects.toThrow(/no heavy-test slot/);
  });
});
