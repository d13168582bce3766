// Rollout events: the log the API streams, webhooks, and (several replicas) the relay between them.
import { EventRelay } from '../rollout/event-relay.js';
import { EventLog } from '../rollout/events.js';
import { WebhookNotifier } from '../rollout/webhooks.js';
import type { RedisStore } from '../store/redis.js';
import type { Base } from './base.js';

import type { Emit } from '../rollout/transitions.js';
export type { Emit };

/** The event log, its webhooks and (several replicas) its relay between replicas. */
export async function buildEvents(b: Base, redis: RedisStore | null) {
  const events = new EventLog({ clock: b.clock, log: b.log });
  const notifier = new WebhookNotifier(b.config.notifications.webhooks, { clock: b.clock, log: b.log });
  b.closers.add('webhooks', () => notifier.close());
  // Webhooks go out from the replica that emitted the event, not from every replica it reached.
  events.subscribe(null, (e) => {
    if (e.origin === undefined || e.origin === b.self) notifier.notify(e);
  });
  if (redis) {
    const relay = new EventRelay(redis.raw(), b.config.state.prefix, b.self, events, b.log);
    await relay.start();
    b.closers.add('event relay', () => relay.stop());
  }
  const emit: Emit = (e) => void events.append({ ...e, origin: b.self });
  return { events, emit };
}
