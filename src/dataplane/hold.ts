// Requests held while their service is in maintenance mode `hold`: a FIFO per service, bounded in
// count (per process) and in time (each request's own timer). Releasing lets them through in the
// order they came; a client that leaves is forgotten at once.
import type { FrontResponse } from './front.js';

interface Held {
  res: FrontResponse;
  timer: NodeJS.Timeout;
  release(): void;
  forget(): void;
}

export interface HoldLimits {
  timeoutMs: number;
  max: number;
}

export class HeldRequests {
  private readonly queues = new Map<string, Held[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** false when the service already holds `max` requests: the caller answers at once. */
  hold(service: string, res: FrontResponse, limits: HoldLimits, release: () => void, expire: () => void): boolean {
    const queue = this.queues.get(service) ?? [];
    if (queue.length >= limits.max) return false;
    this.queues.set(service, queue);
    const held: Held = {
      res,
      release,
      timer: setTimeout(() => {
        this.remove(service, held);
        expire();
      }, limits.timeoutMs),
      forget: () => this.remove(service, held),
    };
    res.once('close', held.forget);
    queue.push(held);
    this.count++;
    return true;
  }

  /** Lets every request held for `service` through, oldest first; how many. */
  release(service: string): number {
    const queue = this.queues.get(service) ?? [];
    this.queues.delete(service);
    for (const h of queue) this.settle(h);
    for (const h of queue) h.release();
    return queue.length;
  }

  /** At shutdown: everything held goes on (and is answered by whatever the data plane does next). */
  releaseAll(): void {
    for (const service of [...this.queues.keys()]) this.release(service);
  }

  private remove(service: string, held: Held): void {
    const queue = this.queues.get(service);
    const i = queue?.indexOf(held) ?? -1;
    if (queue === undefined || i < 0) return;
    queue.splice(i, 1);
    this.settle(held);
  }

  private settle(h: Held): void {
    clearTimeout(h.timer);
    h.res.off('close', h.forget);
    this.count--;
  }
}
