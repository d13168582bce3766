// What the simulation thread and the main thread share: the messages it posts, and a heartbeat in
// shared memory (the main thread must read it while the thread is stuck in the scenario's code,
// when no message can be posted).
import type { SimDone } from './job.js';
import type { Heartbeat } from './job.js';

export type ThreadMessage =
  | { kind: 'progress'; done: number }
  | { kind: 'done'; value: SimDone }
  | { kind: 'invalid'; message: string }
  | { kind: 'failed'; message: string };

/** [calls into the scenario, the virtual second (-1: loading), the pool (0 stable, 1 canary, -1 none)] */
const SLOTS = 3;

export const heartbeatMemory = (): SharedArrayBuffer => new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT);

export function heartbeatWriter(memory: SharedArrayBuffer): Heartbeat {
  const slots = new Int32Array(memory);
  return {
    enter(second, pool) {
      Atomics.store(slots, 1, second);
      Atomics.store(slots, 2, pool === null ? -1 : pool === 'stable' ? 0 : 1);
      Atomics.add(slots, 0, 1);
    },
  };
}

export interface Beat {
  count: number;
  /** Where the scenario's code is, for a message: "loading it", "traffic at second 12, pool canary". */
  where: string;
}

export function readHeartbeat(memory: SharedArrayBuffer): Beat {
  const slots = new Int32Array(memory);
  const second = Atomics.load(slots, 1);
  const pool = Atomics.load(slots, 2);
  const where =
    second < 0 ? 'while loading it' : `in traffic at second ${second}, pool ${pool === 0 ? 'stable' : 'canary'}`;
  return { count: Atomics.load(slots, 0), where };
}
