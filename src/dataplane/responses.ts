// The short JSON bodies the proxy itself answers with (a service's HTML pages for a browser). Never a
// stack trace, never upstream internals.
import { STATUS_CODES } from 'node:http';
import type { FrontResponse } from './front.js';
import type { Duplex } from 'node:stream';
import { errorBody, JSON_TYPE, rawErrorResponse } from '../domain/error-body.js';
import { grpcCodeForHttp, isGrpcContentType } from '../domain/grpc-status.js';
import type { AccessEntry } from './access-entry.js';
import { builtinPage, MAINTENANCE_PAGE, wantsHtml, type ServicePages } from './pages.js';
import { htmlWithId, jsonWithId } from './request-id-body.js';
import { endWithHeaders } from './trailers-only.js';
import { endPaced } from './paced-body.js';

export type { AccessEntry };

export type ProxyErrorCode =
  | 'no_route'
  | 'bad_request'
  | 'bad_host'
  | 'bad_path'
  | 'too_many_headers'
  | 'unsupported_transfer_encoding'
  | 'bad_framing'
  | 'http_version_not_supported'
  | 'upgrade_unsupported'
  | 'payload_too_large'
  | 'request_timeout'
  | 'no_targets'
  | 'no_healthy_targets'
  | 'drain_timeout'
  | 'bad_gateway'
  | 'upstream_unreachable'
  | 'upstream_timeout'
  | 'loop_detected'
  | 'maintenance'
  | 'maintenance_timeout';

const STATUS: Record<ProxyErrorCode, number> = {
  no_route: 404,
  bad_request: 400,
  bad_host: 400,
  bad_path: 400,
  too_many_headers: 431,
  unsupported_transfer_encoding: 501,
  bad_framing: 400,
  http_version_not_supported: 505,
  upgrade_unsupported: 501,
  payload_too_large: 413,
  request_timeout: 408,
  no_targets: 503,
  no_healthy_targets: 503,
  drain_timeout: 504,
  bad_gateway: 502,
  upstream_unreachable: 502,
  upstream_timeout: 504,
  loop_detected: 508,
  maintenance: 503,
  maintenance_timeout: 503,
};

const MESSAGE: Record<ProxyErrorCode, string> = {
  no_route: 'no service matches this host and path',
  bad_request: 'the request cannot be forwarded (invalid or unsupported header)',
  bad_host: 'the Host header (or the absolute-form authority) is missing, empty, not a valid host[:port], or repeated',
  bad_path:
    'the request target is malformed or ambiguous (an http(s) URL or a path; ' +
    'no backslash, broken escape, fragment or hidden dot-segment)',
  too_many_headers: 'the request has more header fields than this proxy accepts',
  unsupported_transfer_encoding: 'only "Transfer-Encoding: chunked" is accepted',
  bad_framing: 'an HTTP/1.0 request cannot carry Transfer-Encoding (its framing is ambiguous)',
  http_version_not_supported: 'only HTTP/1.0, HTTP/1.1 and HTTP/2 (over TLS or h2c) are served',
  upgrade_unsupported: "this service's upstream speaks HTTP/2 (h2c): an Upgrade cannot be passed to it",
  payload_too_large: 'the request body is larger than this service accepts',
  request_timeout: 'the request body did not arrive in time',
  no_targets: 'the service has no available targets',
  no_healthy_targets: "none of the service's targets is healthy",
  drain_timeout: 'the target was removed and its drain period ended before it answered',
  bad_gateway: 'the upstream answered with an invalid or interrupted response',
  upstream_unreachable: 'could not connect to an upstream',
  upstream_timeout: 'the upstream did not answer in time',
  loop_detected: 'request loop detected (this proxy appears in Via)',
  maintenance: 'the service is down for maintenance',
  maintenance_timeout: 'the service is in maintenance and did not come back in time',
};

// Pre-rendered: error answers should not cost a JSON.stringify under an incident's load.
const BODY = Object.fromEntries(
  (Object.keys(STATUS) as ProxyErrorCode[]).map((c) => [c, Buffer.from(errorBody(c, MESSAGE[c]))]),
) as Record<ProxyErrorCode, Buffer>;

const BUILTIN_HTML = Object.fromEntries(
  (Object.keys(STATUS) as ProxyErrorCode[]).map((c) => [c, builtinPage(STATUS[c], MESSAGE[c])]),
) as Record<ProxyErrorCode, Buffer>;
const HTML_TYPE = 'text/html; charset=utf-8';

// A gRPC client reads a call's outcome from grpc-status and grpc-message (percent-encoded), not from
// a body: veer's own answer to a gRPC request keeps its HTTP status and says the same in gRPC terms.
const GRPC_HEADERS = Object.fromEntries(
  (Object.keys(STATUS) as ProxyErrorCode[]).map((c) => [
    c,
    [
      'content-type',
      'application/grpc',
      'grpc-status',
      String(grpcCodeForHttp(STATUS[c])),
      'grpc-message',
      MESSAGE[c].replace(/[^\x20-\x7e]|%/g, encodeURIComponent),
      'cache-control',
      'no-store',
    ],
  ]),
) as Record<ProxyErrorCode, string[]>;

// Answers given before the request body was read: the connection's framing can no longer be
// trusted (or the rest of a large body is not worth reading), so it closes after the answer.
const CLOSES: ReadonlySet<ProxyErrorCode> = new Set([
  'too_many_headers',
  'unsupported_transfer_encoding',
  'bad_framing',
  'http_version_not_supported',
  'payload_too_large',
  'request_timeout',
]);

export function httpStatusOf(code: ProxyErrorCode): number {
  return STATUS[code];
}

export function messageOf(code: ProxyErrorCode): string {
  return MESSAGE[code];
}

/** A routed service's pages: HTML instead of the JSON body for a client that asks for HTML. */
function htmlOf(res: FrontResponse, code: ProxyErrorCode, pages: ServicePages | undefined): Buffer | null {
  const status = STATUS[code];
  if (pages === undefined || (status !== 502 && status !== 503 && status !== 504)) return null;
  if (!wantsHtml(res.req?.headers.accept)) return null;
  if (code === 'maintenance' || code === 'maintenance_timeout') return pages.maintenance;
  return pages.errors[status] ?? BUILTIN_HTML[code];
}

/** `entry`: the request's id goes in the answer (header and body), and the answer in its access line. */
export function sendProxyError(
  res: FrontResponse,
  code: ProxyErrorCode,
  extraHeaders?: readonly string[],
  pages?: ServicePages,
  entry?: AccessEntry | null,
): void {
  if (entry) entry.error = code;
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const id = entry?.id ?? null;
  if (isGrpcContentType(res.req?.headers['content-type'])) {
    // Veer's own answer too, all headers (bytesOut 0): its close tells whether its client took it.
    if (entry) entry.ownAnswer = true;
    const headers = [...GRPC_HEADERS[code], ...(id === null ? [] : [(entry as AccessEntry).idHeader, id])];
    endWithHeaders(res, STATUS[code], extraHeaders ? [...headers, ...extraHeaders] : headers);
    return;
  }
  const html = htmlOf(res, code, pages);
  // Only veer's built-in pages are given the id: an operator's own page is sent as it is.
  const builtin = html === BUILTIN_HTML[code] || html === MAINTENANCE_PAGE;
  let body = html ?? BODY[code];
  if (id !== null) body = html === null ? jsonWithId(body, id) : builtin ? htmlWithId(body, id) : body;
  if (entry) {
    entry.bytesOut = body.length; // the access line takes off what its client never got (untaken-answer.ts)
    entry.ownAnswer = true;
  }
  const type = html ? HTML_TYPE : JSON_TYPE;
  const headers = ['content-type', type, 'content-length', String(body.length), 'cache-control', 'no-store'];
  if (id !== null) headers.push((entry as AccessEntry).idHeader, id);
  if (extraHeaders) headers.push(...extraHeaders);
  if (CLOSES.has(code)) res.shouldKeepAlive = false;
  res.writeHead(STATUS[code], headers);
  endPaced(res, body);
}

/**
 * A JSON error written straight to a socket that has no response object (an upgrade request, or
 * what Node's parser refused), then the socket is closed for good once it is written: bytes the
 * client sent that nobody will read would otherwise keep it half-open.
 */
export function answerRaw(
  socket: Duplex,
  status: number,
  code: string,
  message: string = STATUS_CODES[status] ?? code,
  id?: readonly [header: string, id: string],
  extra: ReadonlyArray<readonly [name: string, value: string]> = [],
): void {
  socket.once('finish', () => socket.destroy());
  const body = errorBody(code, message);
  if (id === undefined) return void socket.end(rawErrorResponse(status, body, JSON_TYPE, extra));
  const withId = jsonWithId(Buffer.from(body), id[1]).toString();
  socket.end(rawErrorResponse(status, withId, JSON_TYPE, [id, ...extra]));
}
