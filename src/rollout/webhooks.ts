// Webhook notifications of rollout milestones. `notify` only enqueues: the controller that emits an
// event must never wait on (or fail because of) someone else's HTTP endpoint. Each hook has its own
// lane, delivered in order, so "started" never arrives after "succeeded" and a slow hook does not
// delay the others. Lanes are bounded: under a dead endpoint, new events are dropped and counted
// rather than growing memory without limit.
import { pause, settledWithin } from '../domain/async.js';
import { errorMessage } from '../domain/errors.js';
import type { WebhookConfig } from '../config/schema.js';
import { systemClock, type Clock } from '../domain/clock.js';
import { silentLogger, type Logger } from '../domain/log.js';
import type { EventKind, RolloutEvent } from '../domain/rollout.js';
import {
  failureOf,
  parseRetryAfter,
  redact,
  redirectField,
  requestHeaders,
  webhookBody,
  type WebhookPayload,
} from './webhook-message.js';

export { parseRetryAfter, type WebhookPayload };

export const DEFAULT_WEBHOOK_EVENTS: readonly EventKind[] = [
  'started',
  'step',
  'paused',
  'rolling-back',
  'rolled-back',
  'aborted',
  'succeeded',
  'promoting',
  'warning',
  'acme',
];

export interface WebhookOptions {
  fetch?: typeof fetch;
  clock?: Clock;
  log?: Logger;
  /** Pending deliveries per hook before new ones are dropped. */
  maxQueue?: number;
  /** First retry delay; doubles on each further retry. */
  backoffMs?: number;
  /** Longest single backoff wait. */
  maxBackoffMs?: number;
  /** How long close() lets queued deliveries finish before it aborts them. */
  closeTimeoutMs?: number;
}

type Outcome = 'delivered' | 'retry' | 'rejected';
interface Attempt {
  outcome: Outcome;
  /** The endpoint's own Retry-After, when it gave one. */
  retryAfterMs: number | null;
  /** Why a retried attempt failed (a status, a timeout, the network error): the give-up warning names the last. */
  error: string | null;
}

/** One queued post: its JSON body (in the hook's format), and what the logs name it by. */
interface Delivery {
  event: EventKind;
  seq: number;
  body: string;
}

interface Lane {
  hook: WebhookConfig;
  kinds: ReadonlySet<EventKind>;
  queue: Delivery[];
  running: Promise<void> | null;
}

export class WebhookNotifier {
  private readonly lanes: Lane[];
  private readonly fetchFn: typeof fetch;
  private readonly log: Logger;
  private readonly maxQueue: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly closeTimeoutMs: number;
  private readonly clock: Clock;
  private readonly shutdown = new AbortController();
  private closing = false;
  private droppedCount = 0;
  private deliveredCount = 0;
  private failedCount = 0;

  constructor(hooks: readonly WebhookConfig[], opts: WebhookOptions = {}) {
    this.lanes = hooks.map((hook) => ({
      hook,
      kinds: new Set(hook.events ?? DEFAULT_WEBHOOK_EVENTS),
      queue: [],
      running: null,
    }));
    this.fetchFn = opts.fetch ?? fetch;
    this.log = opts.log ?? silentLogger;
    this.maxQueue = Math.max(1, opts.maxQueue ?? 1000);
    this.backoffMs = Math.max(0, opts.backoffMs ?? 500);
    this.maxBackoffMs = Math.max(this.backoffMs, opts.maxBackoffMs ?? 30_000);
    this.closeTimeoutMs = Math.max(0, opts.closeTimeoutMs ?? 5_000);
    this.clock = opts.clock ?? systemClock;
  }

  /** Deliveries refused because a hook's queue was full (or the notifier was closing). */
  get dropped(): number {
    return this.droppedCount;
  }

  get delivered(): number {
    return this.deliveredCount;
  }

  /** Deliveries given up on: retries exhausted, a 3xx or 4xx answer, or aborted by close(). */
  get failed(): number {
    return this.failedCount;
  }

  notify(e: RolloutEvent): void {
    try {
      for (const lane of this.lanes) {
        if (!lane.kinds.has(e.kind)) continue;
        if (this.closing || lane.queue.length >= this.maxQueue) {
          this.droppedCount += 1;
          continue;
        }
        lane.queue.push({ event: e.kind, seq: e.seq, body: JSON.stringify(webhookBody(lane.hook.format, e)) });
        if (lane.running === null) lane.running = this.drainLane(lane);
      }
    } catch (err) {
      this.log.log('warn', 'webhook notify failed', { error: errorMessage(err) });
    }
  }

  /** Lets queued deliveries finish for up to closeTimeoutMs, then aborts what is left. */
  async close(): Promise<void> {
    this.closing = true;
    const idle = (): Promise<unknown> => Promise.allSettled(this.lanes.map((l) => l.running ?? Promise.resolve()));
    await settledWithin(idle(), this.closeTimeoutMs);
    this.shutdown.abort();
    await idle();
  }

  private async drainLane(lane: Lane): Promise<void> {
    try {
      // Bounded: every pass removes one payload, and nothing is enqueued once the queue is full.
      for (let next = lane.queue.shift(); next !== undefined; next = lane.queue.shift()) {
        if (this.shutdown.signal.aborted) {
          this.failedCount += 1 + lane.queue.length;
          lane.queue.length = 0;
          break;
        }
        await this.deliver(lane.hook, next);
      }
    } finally {
      lane.running = null;
    }
  }

  private async deliver(hook: WebhookConfig, payload: Delivery): Promise<void> {
    let retryAfterMs: number | null = null;
    let lastError: string | null = null;
    let attempts = 0;
    for (let attempt = 0; attempt <= hook.retries; attempt++) {
      if (attempt > 0 && !(await this.backoff(attempt, retryAfterMs))) break;
      attempts += 1;
      const result = await this.attempt(hook, payload);
      retryAfterMs = result.retryAfterMs;
      lastError = result.error;
      switch (result.outcome) {
        case 'delivered':
          this.deliveredCount += 1;
          return;
        case 'rejected':
          this.failedCount += 1;
          return;
        case 'retry':
          break;
      }
    }
    this.failedCount += 1;
    this.log.log('warn', 'webhook delivery gave up', {
      url: redact(hook.url),
      event: payload.event,
      seq: payload.seq,
      attempts,
      error: lastError,
    });
  }

  private async attempt(hook: WebhookConfig, payload: Delivery): Promise<Attempt> {
    const body = payload.body;
    if (this.shutdown.signal.aborted) return { outcome: 'retry', retryAfterMs: null, error: 'notifier closed' };
    const signal = AbortSignal.any([AbortSignal.timeout(hook.timeout), this.shutdown.signal]);
    try {
      // Never follow a redirect: it would carry the hook's headers (often a secret) to whatever host
      // the endpoint names, inside the network veer runs in. A 3xx is a rejected delivery, like a 4xx:
      // the same request would be redirected again.
      const res = await this.fetchFn(hook.url, {
        method: 'POST',
        headers: requestHeaders(hook.headers),
        body,
        signal,
        redirect: 'manual',
      });
      // The body is not needed, but an unread body keeps the connection busy.
      await res.body?.cancel().catch(() => undefined);
      if (res.ok) return { outcome: 'delivered', retryAfterMs: null, error: null };
      if (res.status >= 500 || res.status === 429) {
        const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), this.clock.now());
        return { outcome: 'retry', retryAfterMs, error: `HTTP ${res.status}` };
      }
      this.log.log('warn', 'webhook rejected', {
        url: redact(hook.url),
        status: res.status,
        ...redirectField(res, hook.url),
        event: payload.event,
        seq: payload.seq,
      });
      return { outcome: 'rejected', retryAfterMs: null, error: null };
    } catch (e) {
      const error = failureOf(e);
      this.log.log('debug', 'webhook attempt failed', { url: redact(hook.url), event: payload.event, error });
      return { outcome: 'retry', retryAfterMs: null, error };
    }
  }

  /** Resolves true after the attempt's delay, false at once if the notifier is shutting down. */
  private backoff(attempt: number, retryAfterMs: number | null): Promise<boolean> {
    const ms = Math.min(this.maxBackoffMs, Math.max(this.backoffMs * 2 ** (attempt - 1), retryAfterMs ?? 0));
    return pause(ms, this.shutdown.signal);
  }
}
