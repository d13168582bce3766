// At most a few "heavy" test files at once in a vitest run: files that start several veer processes and
// drive traffic through them, with their own process as the load generator and the upstream. Three such
// files at once on this 2-core host (nine replicas, three starting at a time) starved each test process
// of CPU: their upstream servers then took connections off the accept queue at ~20/s while veer opened
// one per request waiting (131 queued for 5 s), and clients timed out although no replica had stalled.
// Two at once passed, each beside whatever the other forks run. A slot is a file only one caller can
// create, in a directory of the run (a test file's fork is a child of the vitest process): a fork that
// died holding one is found by its pid and its slot taken over.
import { mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = join(tmpdir(), 'veer-test-heavy');
/** How many heavy files may run at once (VEER_TEST_HEAVY_SLOTS sets another count). */
export const HEAVY_SLOTS = Math.max(1, Number(process.env.VEER_TEST_HEAVY_SLOTS ?? 2) || 2);
/** The longest a file waits for a slot: every heavy file of a run, back to back, ends well within it. */
export const HEAVY_WAIT_MS = 10 * 60_000;
const POLL_MS = 100;

export interface HeavySlotOptions {
  slots?: number;
  timeoutMs?: number;
  /** The run the slots belong to (the vitest process's pid unless given). */
  run?: string;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** True if this process now holds `file`: a fresh one, or one whose holder is gone. */
function take(file: string): boolean {
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    let holder = NaN;
    try {
      holder = Number(readFileSync(file, 'utf8'));
    } catch {
      return false; // released meanwhile: the next poll tries again
    }
    if (!Number.isInteger(holder) || holder <= 0 || alive(holder)) return false;
    try {
      unlinkSync(file);
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch {
      return false;
    }
  }
}

/** Waits for a free slot (bounded); resolves with its release, which is idempotent. */
export async function takeHeavySlot(o: HeavySlotOptions = {}): Promise<() => void> {
  const dir = join(ROOT, o.run ?? String(process.ppid));
  const slots = o.slots ?? HEAVY_SLOTS;
  const timeoutMs = o.timeoutMs ?? HEAVY_WAIT_MS;
  mkdirSync(dir, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (let i = 0; i < slots; i++) {
      const file = join(dir, `slot-${i}`);
      if (take(file)) return () => release(file);
    }
    if (Date.now() >= deadline)
      throw new Error(`no heavy-test slot of ${slots} came free in ${timeoutMs} ms (held in ${dir})`);
    await sleep(POLL_MS);
  }
}

function release(file: string): void {
  try {
    if (readFileSync(file, 'utf8') === String(process.pid)) unlinkSync(file);
  } catch {
    // Already released, or taken over after this fork was thought gone: not ours to remove.
  }
}

/** For the global teardown: the run's slot directory goes (its forks have ended). */
export function removeHeavySlots(run: string): void {
  rmSync(join(ROOT, run), { recursive: true, force: true });
}
