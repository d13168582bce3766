// The event log: a bounded ring of rollout events with live subscribers (the admin API's event
// stream, webhooks). Subscribers are called synchronously so an event reaches every stream in the
// order it was appended; one faulty subscriber must never cost the others (or the controller that
// appended) their event.
import { errorMessage } from '../domain/errors.js';
import type { EventFeed } from '../api/ports.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../domain/log.js';
import type { RolloutEvent } from '../domain/rollout.js';

export const DEFAULT_EVENT_CAPACITY = 1000;

export interface EventLogOptions {
  capacity?: number;
  clock: Clock;
  log?: Logger;
}

interface Subscriber {
  service: string | null;
  listener: (e: RolloutEvent) => void;
}

export class EventLog implements EventFeed {
  private readonly capacity: number;
  private readonly ring: RolloutEvent[] = [];
  private readonly subscribers = new Set<Subscriber>();
  private seq = 0;

  constructor(private readonly opts: EventLogOptions) {
    const c = opts.capacity ?? DEFAULT_EVENT_CAPACITY;
    this.capacity = Number.isInteger(c) && c > 0 ? c : DEFAULT_EVENT_CAPACITY;
  }

  append(e: Omit<RolloutEvent, 'seq' | 'at'>): RolloutEvent {
    this.seq += 1;
    const event: RolloutEvent = { ...e, seq: this.seq, at: new Date(this.opts.clock.now()).toISOString() };
    this.ring.push(event);
    // Amortised trimming: splice once the ring is 10% over, not on every append.
    if (this.ring.length > this.capacity + Math.ceil(this.capacity / 10))
      this.ring.splice(0, this.ring.length - this.capacity);
    this.notify(event);
    return event;
  }

  /** Newest last; at most `limit` events (and never more than the capacity). */
  recent(service: string | null, limit: number): RolloutEvent[] {
    const n = Math.max(0, Math.min(Math.floor(limit), this.capacity));
    if (n === 0) return [];
    const out: RolloutEvent[] = [];
    const oldest = Math.max(0, this.ring.length - this.capacity);
    for (let i = this.ring.length - 1; i >= oldest && out.length < n; i--) {
      const e = this.ring[i] as RolloutEvent;
      if (service === null || e.service === service) out.push(e);
    }
    return out.reverse();
  }

  subscribe(service: string | null, listener: (e: RolloutEvent) => void): () => void {
    // A fresh object per call: the same listener subscribed twice is two subscriptions.
    const sub: Subscriber = { service, listener };
    this.subscribers.add(sub);
    return () => {
      this.subscribers.delete(sub);
    };
  }

  /** Live subscriptions (streams, webhooks): tests and gauges check that nothing leaks. */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** The sequence number of the newest event (0 before the first). */
  get lastSeq(): number {
    return this.seq;
  }

  private notify(event: RolloutEvent): void {
    // A copy: a listener may unsubscribe (itself or another) while we iterate.
    for (const sub of [...this.subscribers]) {
      if (sub.service !== null && sub.service !== event.service) continue;
      if (!this.subscribers.has(sub)) continue;
      try {
        sub.listener(event);
      } catch (e) {
        this.opts.log?.log('warn', 'event subscriber failed', {
          seq: event.seq,
          kind: event.kind,
          error: errorMessage(e),
        });
      }
    }
  }
}
