// One access line's content, built from a request's entry only when the line is written, and the rule
// that says whether it is. Pure: no clock, no I/O. accessRecord names the fields; accessLine writes the
// same JSON text without building the object (the line is written for every request by default, and
// JSON.stringify of a fresh object per request was most of the log's cost in the profile).
import type { AccessEntry, AccessError, ExchangeFacts } from './access-entry.js';
import { H2Response } from './h2-response.js';

/** Veer's own answers, 5xx and clients that left are always written; the rest as sampled. */
export function mustWrite(status: number, error: string | null): boolean {
  return error !== null || status >= 500;
}

/** `draw`: the injected Random's next value (asked only when the sample decides). */
export function sampled(sample: number, status: number, error: string | null, draw: () => number): boolean {
  if (sample >= 1 || mustWrite(status, error)) return true;
  return sample > 0 && draw() < sample;
}

/**
 * A proxied answer's body bytes that left veer for the kernel (whose buffers count as sent): all those written,
 * unless its client left with some still in veer: its socket's or stream's when it broke or veer cut it
 * (Downstream.lost), else an HTTP/2 stream's at its close (Node 20 keeps that count; Node 26 drops it by then, and
 * 'aborted' told it). Head or framing bytes among them count too: never more than left.
 */
function proxiedOut(e: AccessEntry, x: ExchangeFacts | null): number {
  if (x === null) return 0;
  const { written, lost } = x.down;
  const held = lost >= 0 ? lost : e.res instanceof H2Response ? e.res.writableLength : 0;
  return Math.max(0, written - held);
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
 * headers, the status stays and the error says it left); an answer veer cut mid-body is `truncated`. A client
 * cut for not reading left too, though its socket may have called the answer's last write done as it closed; so
 * did one that had not taken veer's own answer whole (its code was counted when veer answered, the line says
 * what the client got: AccessEntry's settleOwn).
 */
export function outcome(e: AccessEntry): { status: number; error: AccessError | null } {
  const res = e.res;
  const x = e.exchange;
  if (e.left) return { status: res.headersSent ? res.statusCode : 499, error: 'client_closed' };
  if (e.error !== null || (res.writableFinished && (x === null || !x.clientGone)))
    return { status: res.statusCode, error: e.error };
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
    bytesOut: e.bytesOut + proxiedOut(e, x),
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

/** Printable ASCII without `"` and `\\`: such a string is its own JSON text between quotes. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function str(v: string | null | undefined): string {
  if (v === null || v === undefined) return 'null';
  return PLAIN.test(v) ? `"${v}"` : JSON.stringify(v);
}

function num(v: number): string {
  return Number.isFinite(v) ? String(v) : 'null';
}

/** Below this many microseconds (~100 days) a duration rounded to the microsecond reads as its 3 decimals. */
const EXACT_US = 2 ** 43;

/**
 * `num(round(ms))` without the generic number-to-text conversion, which was the largest part of the line's
 * cost in the profile: the same text (JSON's shortest form), built from whole microseconds.
 */
function millis(ms: number): string {
  const us = Math.round(ms * 1000);
  if (!(Math.abs(us) < EXACT_US)) return num(us / 1000);
  const a = Math.abs(us);
  const whole = Math.floor(a / 1000);
  const frac = a - whole * 1000;
  const sign = us < 0 ? '-' : '';
  if (frac === 0) return `${sign}${whole}`;
  const d3 = frac < 10 ? `00${frac}` : frac < 100 ? `0${frac}` : `${frac}`;
  return `${sign}${whole}.${frac % 100 === 0 ? d3.slice(0, 1) : frac % 10 === 0 ? d3.slice(0, 2) : d3}`;
}

/** Years 0–9999 (toISOString's plain form); other instants take the general path. */
const ISO_PLAIN_MAX = 253_402_300_800_000;

// Requests of one second share the timestamp's text up to the milliseconds.
let isoSec = Number.NaN;
let isoHead = '';
function iso(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0 || ms >= ISO_PLAIN_MAX) return new Date(ms).toISOString();
  const sec = Math.floor(ms / 1000);
  if (sec !== isoSec) [isoSec, isoHead] = [sec, new Date(sec * 1000).toISOString().slice(0, 20)];
  const m = ms - sec * 1000;
  return `${isoHead}${m < 10 ? '00' : m < 100 ? '0' : ''}${m}Z`;
}

/** `JSON.stringify(accessRecord(…))` and a newline, written directly (see the top of the file). */
export function accessLine(e: AccessEntry, endHr: number, status: number, error: AccessError | null): string {
  const { req, route, exchange: x } = e;
  const target = x?.target;
  const dispatched = target !== undefined;
  return (
    `{"kind":"access","time":"${iso(e.startedAt)}","requestId":${str(e.id)},"client":${str(e.peer)}` +
    `,"forwardedFor":${str(forwardedFor(e))},"method":${str(req.method)},"host":${str(req.headers.host)}` +
    `,"path":${str(req.url)},"status":${num(status)},"bytesIn":${num(x?.body?.bytesRead ?? 0)}` +
    `,"bytesOut":${num(e.bytesOut + proxiedOut(e, x))},"durationMs":${millis(endHr - e.startHr)}` +
    `,"upstreamMs":${x?.gotHeaders ? millis(x.latencyMs) : 'null'},"service":${str(route?.name)}` +
    `,"pool":${dispatched ? str((x as ExchangeFacts).pool.name) : 'null'},"target":${str(target?.address.id)}` +
    `,"rolloutId":${str(route?.rolloutId)},"error":${str(error)}` +
    `,"attempts":${dispatched ? (x as ExchangeFacts).attempt + 1 : 0}}\n`
  );
}
