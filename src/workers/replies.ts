// Questions the primary asks every worker at once (drain, rebind), answered by id, each bounded: a
// worker that does not answer in time is counted as missing, never waited for; one that exits is not
// waited for either, and has nothing left to answer for (its requests and listeners ended with it).
import type { ToWorker } from './messages.js';

export interface Asked {
  id: number;
  send(msg: ToWorker): void;
}

interface Waiting<T> {
  left: Set<number>;
  answers: T[];
  done: () => void;
}

export class Replies<T> {
  private next = 1;
  private readonly waiting = new Map<number, Waiting<T>>();

  /** Sends `make(id)` to each worker; resolves with the answers once all came, or after `timeoutMs`. */
  async ask(to: readonly Asked[], make: (id: number) => ToWorker, timeoutMs: number) {
    const id = this.next++;
    const w: Waiting<T> = { left: new Set(to.map((a) => a.id)), answers: [], done: () => undefined };
    const all = new Promise<void>((resolve) => (w.done = resolve));
    this.waiting.set(id, w);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    for (const a of to) a.send(make(id));
    if (w.left.size === 0) w.done();
    await Promise.race([all, late]);
    clearTimeout(timer);
    this.waiting.delete(id);
    return { answers: w.answers, missing: w.left.size };
  }

  answer(id: number, from: number, answer: T): void {
    const w = this.waiting.get(id);
    if (w === undefined || !w.left.delete(from)) return;
    w.answers.push(answer);
    if (w.left.size === 0) w.done();
  }

  /** A worker exited: it will answer nothing, and is owed nothing. */
  gone(from: number): void {
    for (const w of this.waiting.values()) if (w.left.delete(from) && w.left.size === 0) w.done();
  }
}
