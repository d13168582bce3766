// Follows the admin API's event stream for a watching command: each event is handed on as it comes,
// and a lost stream is opened again with backoff (resuming after the last event seen, so none is
// shown twice) until `signal` aborts. Never throws: a stream that cannot be opened is retried.
import { pause } from '../domain/async.js';
import type { RolloutEvent } from '../domain/rollout.js';
import type { AdminClient } from './client.js';

export interface EventTailOptions {
  /** null: every service's events. */
  service: string | null;
  /** Recent events replayed on the first connection. */
  replay: number;
  onEvent(e: RolloutEvent): void;
  /** The stream opened (true) or was lost (false). */
  onLink(live: boolean): void;
  signal: AbortSignal;
}

const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 10_000;
/** Reconnections at most (with backoff capped at 10 s, days of outage). */
const MAX_ATTEMPTS = 100_000;

export async function tailEvents(client: AdminClient, o: EventTailOptions): Promise<void> {
  // The stream's id, not the event's seq: it names the server's event log too, so a restarted server (or another
  // replica) replays what its own log holds instead of filtering it by a seq from another log.
  let lastId: string | null = null;
  let backoff = FIRST_BACKOFF_MS;
  for (let attempt = 0; attempt < MAX_ATTEMPTS && !o.signal.aborted; attempt++) {
    const r = await client.stream(streamPath(o, lastId), (m) => {
      const e = parse(m.data);
      if (e === null) return;
      lastId = m.id ?? String(e.seq);
      o.onEvent(e);
    });
    if (r.ok) {
      o.onLink(true);
      backoff = FIRST_BACKOFF_MS;
      const close = (): void => r.value.close();
      o.signal.addEventListener('abort', close, { once: true });
      await r.value.ended;
      o.signal.removeEventListener('abort', close);
      o.onLink(false);
    }
    if (!(await pause(backoff, o.signal))) return;
    backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
  }
}

function streamPath(o: EventTailOptions, lastId: string | null): string {
  const q = new URLSearchParams();
  if (o.service !== null) q.set('service', o.service);
  if (lastId === null) q.set('replay', String(o.replay));
  else q.set('lastEventId', lastId);
  return `/v1/events?${q.toString()}`;
}

function parse(data: string): RolloutEvent | null {
  try {
    const e = JSON.parse(data) as Partial<RolloutEvent>;
    return typeof e.seq === 'number' && typeof e.kind === 'string' && typeof e.message === 'string'
      ? (e as RolloutEvent)
      : null;
  } catch {
    return null;
  }
}
