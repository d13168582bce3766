// One worker as the primary keeps it: its process, what it was sent and acknowledged, and its exit.
import type { Worker } from 'node:cluster';
import type { Socket } from 'node:net';
import type { PortKind, Taker } from './handout.js';
import type { ToWorker } from './messages.js';
import type { Recipient } from './snapshot-feed.js';

/** A worker that ran at least this long before it exited is replaced at once. */
const STABLE_AFTER_MS = 10_000;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;

/** How long to wait before replacing a worker that exited after `livedMs` (the last wait was `lastMs`). */
export function restartDelay(lastMs: number, livedMs: number): number {
  if (livedMs >= STABLE_AFTER_MS) return 0;
  return Math.min(Math.max(lastMs * 2, FIRST_BACKOFF_MS), MAX_BACKOFF_MS);
}

export class Member implements Recipient, Taker {
  readonly id: number;
  readonly pid: number;
  started = false;
  listening = false;
  acked = 0;
  appliedAt = 0;
  /** Its connections open, as it said when it took one or in its last gauges (once a second). */
  connections = 0;
  /** Asked to close: its exit is not a crash. */
  asked = false;
  readonly exit: Promise<void>;
  private markExited: () => void = () => undefined;

  constructor(
    private readonly worker: Worker,
    readonly startedAt: number,
  ) {
    this.id = worker.id;
    this.pid = worker.process.pid ?? 0;
    this.exit = new Promise((resolve) => (this.markExited = resolve));
  }

  send(msg: ToWorker): void {
    if (!this.worker.isConnected()) return;
    try {
      this.worker.send(msg);
    } catch {
      // The channel closed under us: the exit event follows and settles the rest.
    }
  }

  /**
   * Hands it connection `id` (the primary keeps its own descriptor until the worker says it took it); false when
   * the channel is gone. A send that fails later leaves it in hand: the worker's exit hands it on.
   */
  give(id: number, port: PortKind, socket: Socket): boolean {
    if (!this.worker.isConnected()) return false;
    try {
      // Its false says the channel is backed up, not that the message was dropped: it is queued either way.
      this.worker.send({ type: 'conn', id, port } satisfies ToWorker, socket, { keepOpen: true });
      return true;
    } catch {
      return false;
    }
  }

  ask(msg: ToWorker): void {
    this.asked = true;
    this.send(msg);
  }

  kill(): void {
    this.worker.process.kill('SIGKILL');
  }

  exited(): void {
    this.markExited();
  }
}
