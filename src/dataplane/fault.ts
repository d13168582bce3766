// Who is at fault when an upstream exchange fails: the upstream (a connect failure, a timeout, a
// broken answer: the pool's errors), or the client's request (undici refusing to send it, the
// client's body going wrong: never the pool's). Pure lookups, so exchange.ts keeps only the flow.
import type { FailureKind } from '../domain/upstream-failure.js';
import type { BodyFault } from './request-body.js';
import type { ProxyErrorCode } from './responses.js';

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** An upstream failure, by undici's error code and whether the response headers had arrived. */
export function classify(code: string, gotHeaders: boolean): FailureKind {
  if (TIMEOUT_CODES.has(code)) return 'timeout';
  if (!gotHeaders && CONNECT_CODES.has(code)) return 'connect';
  return 'broken';
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export const isIdempotent = (method: string | undefined): boolean => IDEMPOTENT.has(method ?? '');

// undici refusing the request itself (a header it will not send, a length that does not match the
// body): the client's request, never the target's doing. Refusals thrown while dispatching are
// caught by the exchange's `dispatching` flag whatever their code (an assertion on a malformed Host).
const REQUEST_CODES = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'ERR_ASSERTION',
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
]);

export const isRequestRefusal = (code: string): boolean => REQUEST_CODES.has(code);

// A dispatch refused because the target's connection pool is closed: the target left routing while the
// request was on its way to it (released by a table swap, or veer shutting down). Neither the client's
// doing nor the target's.
export const isTargetGone = (code: string): boolean => code === 'UND_ERR_CLOSED' || code === 'UND_ERR_DESTROYED';

/** veer's answer to an upstream failure the client is told about. */
export const FAILURE_ANSWER: Record<FailureKind, ProxyErrorCode> = {
  connect: 'upstream_unreachable',
  timeout: 'upstream_timeout',
  broken: 'bad_gateway',
};

/** veer's answer to a client's body fault (a client that left gets none). */
export const BODY_FAULT_ANSWER: Record<Exclude<BodyFault, 'client_closed'>, ProxyErrorCode> = {
  body_timeout: 'request_timeout',
  body_too_large: 'payload_too_large',
};

/** What an attempt that failed tells the exchange, by the facts of the moment it failed (failureStep). */
export interface FailureFacts {
  /** undici's error code ('' when none). */
  readonly code: string;
  /** The client's body went wrong (onFault handles it) or the client left: nothing of the pool's. */
  readonly clientsDoing: boolean;
  /** It failed within its own dispatch: nothing reached the target. */
  readonly refusedNow: boolean;
  readonly gotHeaders: boolean;
  /** veer's drain cut the target's requests. */
  readonly targetCut: boolean;
  /** The request body was still on its way from the client. */
  readonly bodyIncomplete: boolean;
}

export type FailureStep =
  | { readonly step: 'ignore' } // the client's doing, told elsewhere
  | { readonly step: 'wait' } // the target left routing before the request reached it: wait for another
  | { readonly step: 'bad_request' } // undici refused the client's request
  | { readonly step: 'drain_cut' } // veer's drain: counted as a cut, never as the pool's error
  | { readonly step: 'body_timeout' } // the upstream waited for body bytes the client did not send
  | { readonly step: 'counted'; readonly kind: FailureKind }; // the pool's failure

/** Whose failure it was and what follows, most specific first. */
export function failureStep(f: FailureFacts): FailureStep {
  if (f.clientsDoing) return { step: 'ignore' };
  if (f.refusedNow && isTargetGone(f.code)) return { step: 'wait' };
  if (f.refusedNow || (!f.gotHeaders && isRequestRefusal(f.code))) return { step: 'bad_request' };
  if (f.targetCut) return { step: 'drain_cut' };
  const kind = classify(f.code, f.gotHeaders);
  if (kind === 'timeout' && f.bodyIncomplete && !f.gotHeaders) return { step: 'body_timeout' };
  return { step: 'counted', kind };
}
