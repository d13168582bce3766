// One access line's content, built from a request's entry only when the line is written, and the rule
// that says whether it is. Pure: no clock, no I/O.
import type { AccessEntry, AccessError, ExchangeFacts } from './access-entry.js';

/** Veer's own answers, 5xx and clients that left are always written; the rest as sampled. */
export function mustWrite(status: number, error: string | null): boolean {
  return error !== null || status >= 500;
}

/** `draw`: the injected Random's next value (asked only when the sample decides). */
export function sampled(sample: number, status: number, error: string | null, draw: () => number): boolean {
  if (sample >= 1 || mustWrite(status, error)) return true;
  return sample > 0 && draw() < sample;
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

/** The client before the trusted proxies, as X-Forwarded-For says (its first entry); null if untrusted. */
function forwardedFor(e: AccessEntry): string | null {
  if (!e.trustedPeer) return null;
  const xff = e.req.headers['x-forwarded-for'];
  const first = (Array.isArray(xff) ? xff[0] : xff)?.split(',')[0]?.trim();
  return first ? first : null;
}

/**
 * Status and error as the client saw them: a client that left before any answer is a 499 (after the
 * headers, the status stays and the error says it left); an answer veer cut mid-body is `truncated`.
 */
export function outcome(e: AccessEntry): { status: number; error: AccessError | null } {
  const res = e.res;
  if (res.writableFinished || e.error !== null) return { status: res.statusCode, error: e.error };
  const x = e.exchange;
  if (x !== null && x.done && !x.clientGone) return { status: res.statusCode, error: 'truncated' };
  return { status: res.headersSent ? res.statusCode : 499, error: 'client_closed' };
}

/** The line's fields, in a fixed order; `endHr`: performance.now() when the response closed. */
export function accessRecord(e: AccessEntry, endHr: number, status: number, error: AccessError | null): object {
  const { req, route, exchange: x } = e;
  const target = x?.target;
  return {
    kind: 'access',
    time: new Date(e.startedAt).toISOString(),
    requestId: e.id,
    client: e.peer,
    forwardedFor: forwardedFor(e),
    method: req.method ?? null,
    host: req.headers.host ?? null,
    path: req.url ?? null,
    status,
    bytesIn: x?.body?.bytesRead ?? 0,
    bytesOut: e.bytesOut + (x?.down.written ?? 0),
    durationMs: round(endHr - e.startHr),
    upstreamMs: x?.gotHeaders ? round(x.latencyMs) : null,
    service: route?.name ?? null,
    pool: target === undefined ? null : (x as ExchangeFacts).pool.name,
    target: target?.address.id ?? null,
    rolloutId: route?.rolloutId ?? null,
    error,
    attempts: target === undefined ? 0 : (x as ExchangeFacts).attempt + 1,
  };
}
