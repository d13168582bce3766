// The finished seconds that have not reached Redis yet, one queue per pool. Each window's seconds are
// taken once (a cursor per window remembers where the last collection ended), and while Redis is
// away a queue keeps only its newest seconds: an outage costs memory up to that bound, no more.
import type { PoolName } from '../domain/pool.js';
import type { PoolEntry } from './registry.js';
import type { PoolWindow, SecondRecord } from './window.js';

export interface PoolQueue {
  readonly service: string;
  readonly pool: PoolName;
  records: SecondRecord[];
}

/** Records on their way to Redis, with the queue they go back to if they must be sent again. */
export interface Taken {
  readonly queue: PoolQueue;
  readonly records: SecondRecord[];
}

const queueKey = (service: string, pool: PoolName): string => `${service}\u0000${pool}`;

export class FlushBuffer {
  /** Last second taken from each window; keyed by the window so a re-created service starts afresh. */
  private readonly cursors = new WeakMap<PoolWindow, number>();
  private readonly queues = new Map<string, PoolQueue>();

  constructor(private readonly maxSeconds: number) {}

  /** Records waiting (not those taken). */
  get size(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.records.length;
    return n;
  }

  /** Moves every window's newly finished seconds into its pool's queue; returns how many the bound dropped. */
  collect(entries: readonly PoolEntry[], upToSec: number): number {
    let dropped = 0;
    for (const { service, pool, window } of entries) {
      const from = this.cursors.get(window);
      if (from !== undefined && from >= upToSec) continue;
      const fresh = window.seconds(from === undefined ? -Infinity : from + 1, upToSec).filter((r) => r.requests > 0);
      this.cursors.set(window, upToSec);
      if (fresh.length === 0) continue;
      const q = this.queueOf(service, pool);
      q.records.push(...fresh);
      dropped += this.trim(q);
    }
    return dropped;
  }

  /**
   * One round trip's share of the backlog: the oldest records, queue by queue, each handed to `add` (which
   * queues its commands and says how many) until `budget` commands are spent; at least one record.
   */
  take(budget: number, add: (queue: PoolQueue, rec: SecondRecord) => number): Taken[] {
    const out: Taken[] = [];
    let spent = 0;
    for (const queue of this.queues.values()) {
      let n = 0;
      while (n < queue.records.length && spent < budget) spent += add(queue, queue.records[n++] as SecondRecord);
      if (n > 0) out.push({ queue, records: queue.records.splice(0, n) });
      if (spent >= budget) break;
    }
    return out;
  }

  /** Puts records that must be sent again before the newer ones; returns how many the bound dropped. */
  giveBack(q: PoolQueue, older: SecondRecord[]): number {
    if (older.length === 0) return 0;
    q.records.unshift(...older);
    return this.trim(q);
  }

  private queueOf(service: string, pool: PoolName): PoolQueue {
    const key = queueKey(service, pool);
    let q = this.queues.get(key);
    if (!q) {
      q = { service, pool, records: [] };
      this.queues.set(key, q);
    }
    return q;
  }

  private trim(q: PoolQueue): number {
    const excess = q.records.length - this.maxSeconds;
    if (excess <= 0) return 0;
    q.records.splice(0, excess);
    return excess;
  }
}
