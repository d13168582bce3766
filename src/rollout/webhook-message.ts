// What a webhook sends and how its answer is read: the JSON payload of an event (veer's own, or a
// chat service's message), the request
// headers, Retry-After, and the redacted form of a URL (or a redirect's Location) that may carry a secret.
import type { WebhookFormat } from '../config/schema.js';
import { assertNever, errorMessage } from '../domain/errors.js';
import type { EventKind, RolloutEvent } from '../domain/rollout.js';
import { discordPayload, slackPayload, teamsPayload } from './chat-payload.js';

export interface WebhookPayload {
  event: EventKind;
  service: string;
  rolloutId: string | null;
  phase: string | null;
  weight: number | null;
  message: string;
  at: string;
  seq: number;
  data: Record<string, unknown>;
}

export function webhookPayload(e: RolloutEvent): WebhookPayload {
  return {
    event: e.kind,
    service: e.service,
    rolloutId: e.rolloutId,
    phase: e.phase,
    weight: e.weight,
    message: e.message,
    at: e.at,
    seq: e.seq,
    data: e.data ?? {},
  };
}

/** The JSON body a hook of this format is sent for the event. */
export function webhookBody(format: WebhookFormat, e: RolloutEvent): unknown {
  switch (format) {
    case 'generic':
      return webhookPayload(e);
    case 'slack':
      return slackPayload(e);
    case 'teams':
      return teamsPayload(e);
    case 'discord':
      return discordPayload(e);
    default:
      return assertNever(format, 'webhook format');
  }
}

/** The hook's own headers, except a Content-Type of its own: the body is always JSON. */
export function requestHeaders(own: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(own)) if (k.toLowerCase() !== 'content-type') out[k] = v;
  out['content-type'] = 'application/json';
  return out;
}

/** Retry-After as delay-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null || value.trim() === '') return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Webhook URLs often carry a secret in the path or query (Slack, Discord): log only the origin. */
export function redact(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid url)';
  }
}

/** For a 3xx answer, where it pointed: the Location's origin only (it may carry a secret too). */
export function redirectField(res: Response, base: string): { location?: string } {
  if (res.status < 300 || res.status > 399) return {};
  const location = res.headers.get('location');
  if (location === null) return { location: '(none)' };
  try {
    return { location: new URL(location, base).origin };
  } catch {
    return { location: '(invalid url)' };
  }
}

/** Why a post threw: fetch's own "fetch failed" hides the reason (refused, reset, a bad header) in its cause. */
export function failureOf(e: unknown): string {
  if (e instanceof Error && e.name === 'TimeoutError') return 'no answer within the timeout';
  const cause = e instanceof Error ? (e as Error & { cause?: unknown }).cause : undefined;
  return cause === undefined ? errorMessage(e) : `${errorMessage(e)}: ${errorMessage(cause)}`;
}
