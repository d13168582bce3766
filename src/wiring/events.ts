// Rollout events: the log the API streams, webhooks, and (several replicas) the relay between them.
import type { WebhookConfig } from '../config/schema.js';
import { EventRelay } from '../rollout/event-relay.js';
import { EventLog } from '../rollout/events.js';
import { WebhookNotifier } from '../rollout/webhooks.js';
import type { RedisStore } from '../store/redis.js';
import type { Base } from './base.js';
import type { MetricsRegistry } from '../metrics/registry.js';

import type { Emit } from '../rollout/transitions.js';
export type { Emit };

/** The event log, its webhooks and (several replicas) its relay between replicas. */
export async function buildEvents(b: Base, redis: RedisStore | null, metrics: MetricsRegistry) {
  const events = new EventLog({ clock: b.clock, log: b.log });
  const open = (hooks: readonly WebhookConfig[]) => new WebhookNotifier([...hooks], { clock: b.clock, log: b.log });
  let notifier = open(b.config.notifications.webhooks);
  b.closers.add('webhooks', () => notifier.close());
  // Webhooks go out from the replica that emitted the event, not from every replica it reached.
  events.subscribe(null, (e) => {
    if (e.origin === undefined || e.origin === b.self) notifier.notify(e);
  });
  /** A reload: new events go to the new hooks; the old notifier delivers what it queued (bounded). */
  const setWebhooks = (hooks: readonly WebhookConfig[]): Promise<void> => {
    const old = notifier;
    notifier = open(hooks);
    return old.close();
  };
  if (redis) {
    const relay = new EventRelay(redis.raw(), b.config.state.prefix, b.self, events, b.log);
    await relay.start();
    b.closers.add('event relay', () => relay.stop());
  }
  const emit: Emit = (e) => void events.append({ ...withFailedRequests(e, metrics), origin: b.self });
  return { events, emit, setWebhooks };
}

/**
 * A rollback names the canary's last failed requests this replica saw (their ids), so an operator finds them in
 * the access log and the upstream's own logs. Another replica may have seen others: each names its own.
 */
function withFailedRequests(e: Parameters<Emit>[0], metrics: MetricsRegistry): Parameters<Emit>[0] {
  if (e.kind !== 'rolling-back') return e;
  const ids = metrics.pool(e.service, 'canary').failed.recent();
  return ids.length === 0 ? e : { ...e, data: { ...e.data, failedRequestIds: ids } };
}
