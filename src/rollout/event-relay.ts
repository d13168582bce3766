// Shares rollout events between replicas over Redis pub/sub, so every replica's event log and SSE
// stream show the whole rollout (the leader emits the steps, the replica that took the request the
// start). Each event is published once by the replica that emitted it; relayed events keep their
// origin, so only the origin sends webhooks. Pub/sub is best-effort: a replica that was disconnected
// misses events (the rollout state itself is re-read from the store, not from events).
import type { Logger } from '../domain/log.js';
import type { RolloutEvent } from '../domain/rollout.js';
import { settledWithin } from '../domain/async.js';
import { eventsChannel } from '../store/keys.js';
import type { EventLog } from './events.js';

/** The pub/sub surface of an ioredis connection (Redis or Cluster). */
export interface PubSubConnection {
  publish(channel: string, message: string): Promise<unknown>;
  duplicate(): PubSubSubscriber;
}

export interface PubSubSubscriber {
  readonly status: string;
  subscribe(channel: string): Promise<unknown>;
  once(event: 'ready', listener: () => void): unknown;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
}

export class EventRelay {
  private sub: PubSubSubscriber | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly conn: PubSubConnection,
    private readonly prefix: string,
    private readonly self: string,
    private readonly events: EventLog,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const channel = eventsChannel(this.prefix);
    this.unsubscribe = this.events.subscribe(null, (e) => {
      if (e.origin !== this.self) return;
      const { seq: _seq, at: _at, ...rest } = e;
      this.conn.publish(channel, JSON.stringify(rest)).catch(() => undefined);
    });
    const sub = this.conn.duplicate();
    this.sub = sub;
    sub.on('error', () => undefined);
    sub.on('message', (ch, message) => {
      if (ch !== channel) return;
      try {
        const e = JSON.parse(message) as Omit<RolloutEvent, 'seq' | 'at'>;
        if (e.origin !== this.self) this.events.append(e);
      } catch {
        this.log.log('warn', 'ignored a malformed relayed event');
      }
    });
    // The shared connection runs without an offline queue: subscribing before the duplicate is
    // connected would fail, so wait for it (bounded). ioredis re-subscribes after reconnects.
    if (sub.status !== 'ready')
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 5000);
        t.unref();
        sub.once('ready', () => {
          clearTimeout(t);
          resolve();
        });
      });
    await sub
      .subscribe(channel)
      .catch((err: unknown) => this.log.log('warn', 'event relay could not subscribe', { error: String(err) }));
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    const sub = this.sub;
    this.sub = null;
    if (sub)
      await settledWithin(
        sub.quit().catch(() => sub.disconnect()),
        1000,
      );
  }
}
