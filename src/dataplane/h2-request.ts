// HTTP/2 requests enter the same ingress as HTTP/1.1 ones, read straight from their streams (FrontRequest;
// node:http2's compatibility objects cost more than the rest of the request, see h2-response.ts). What
// differs is adapted here, once, at the edge: pseudo-headers are not header fields (never forwarded),
// `:authority` stands for Host, split Cookie fields are joined for the HTTP/1.1 upstream (RFC 9113
// §8.2.3), and a body without Content-Length is marked chunked so the ingress forwards it.
import type { IncomingHttpHeaders } from 'node:http';
import { constants, type ServerHttp2Stream } from 'node:http2';
import { errorBody, JSON_TYPE } from '../domain/error-body.js';
import type { FrontRequest, FrontResponse, FrontSocket } from './front.js';
import { refusedRequest, type RefusedRequest } from './access-refusal.js';
import { H2Response, PLAIN } from './h2-response.js';

const COLON = 58;

/**
 * The fields an HTTP/1.1 request would carry, from `headers` (rewritten in place: Host, Transfer-Encoding)
 * and `raw`. A Host field that names another host than `:authority` makes the request malformed (RFC 9113
 * §8.3.1): both are kept, and the ingress refuses a repeated Host as it does over HTTP/1.1 (400 bad_host,
 * with its id and access line).
 */
export function http1Fields(headers: IncomingHttpHeaders, raw: readonly string[], bodyless: boolean): string[] {
  const out: string[] = [];
  let cookies: string[] | null = null;
  let host = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    if (name.charCodeAt(0) === COLON) continue;
    if (name === 'cookie') {
      (cookies ??= []).push(value);
      continue;
    }
    if (name === 'host') host = true;
    out.push(name, value);
  }
  if (cookies !== null) out.push('cookie', cookies.join('; '));
  const authority = headers[':authority'];
  if (typeof authority === 'string') {
    if (!host) headers.host = authority;
    if (!host || !sameAuthority(authority, String(headers.host), headers[':scheme'])) out.push('host', authority);
  }
  if (headers['content-length'] === undefined && !bodyless) headers['transfer-encoding'] = 'chunked';
  return out;
}

/** The same host and port, the port defaulting to the scheme's (RFC 3986 §6.2.3: `a.test:443` is `a.test`). */
function sameAuthority(a: string, b: string, scheme: string | string[] | undefined): boolean {
  const port = scheme === 'http' ? ':80' : ':443';
  const norm = (s: string): string => {
    const l = s.toLowerCase();
    return l.endsWith(port) ? l.slice(0, -port.length) : l;
  };
  return norm(a) === norm(b);
}

/** The stream's own errors (a client's reset with an error code) are its close; unheard, they would throw. */
function ignore(): void {}

export class H2Request implements FrontRequest {
  readonly rawHeaders: string[];
  url: string | undefined;
  readonly method: string | undefined;
  readonly httpVersionMajor = 2;
  readonly httpVersionMinor = 0;
  private abortedListeners: Array<() => void> | null = null;
  private dropped = false;

  constructor(
    readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
    raw: readonly string[],
    readonly socket: FrontSocket,
  ) {
    this.url = headers[':path'] as string | undefined;
    this.method = headers[':method'] as string | undefined;
    this.rawHeaders = http1Fields(headers, raw, stream.endAfterHeaders);
  }

  /** The whole body has been read (a request without one has nothing to read). */
  get complete(): boolean {
    return this.stream.endAfterHeaders || this.stream.readableEnded;
  }

  /** The body's events are the stream's, but 'aborted': the stream closed before the body was read whole. */
  on(event: string, listener: (...args: never[]) => void): this {
    const fn = listener as (...args: unknown[]) => void;
    if (event !== 'aborted') this.stream.on(event, fn);
    else if (this.abortedListeners === null) {
      this.abortedListeners = [fn];
      this.stream.on('close', () => this.closed());
    } else this.abortedListeners.push(fn);
    return this;
  }

  // A stream says 'close' only once destroyed: nothing is left to read then.
  private closed(): void {
    const listeners = this.abortedListeners;
    this.abortedListeners = null;
    if (listeners !== null && !this.complete) for (const fn of listeners) fn();
  }

  /**
   * The answer is whole and nothing will read the rest of the body: what already came is read and dropped,
   * and a client still sending is asked to stop (`stopClient`: RST_STREAM NO_ERROR once the answer has left,
   * RFC 9113 §8.1; not for a gRPC answer: before its trailers it loses them, and after a Trailers-Only one a
   * gRPC client may read the reset as the call's status). Node destroys a closed stream only
   * once its body has been read to the end, so a paused body would hold the stream, and the connection's
   * graceful close, for good. Its reader hears no fault, only the end: an answer that came before the body is
   * not the client's fault (undici resets an upstream connection whose answer ended while the body was still
   * going, so the upstream never takes the cut body as whole).
   */
  dropBody(stopClient: boolean): void {
    const stream = this.stream;
    if (stream.destroyed || stream.readableEnded) return;
    this.dropped = true;
    stream.removeAllListeners('data');
    stream.resume();
    if (!stopClient || stream.closed || stream.state.remoteClose !== 0) return;
    // Only once the answer has left: closing now would mark the stream closed at once, and a client's reset
    // during the rest of a long answer would no longer be seen (nor counted as a client that left).
    if (stream.writableFinished) stream.close(constants.NGHTTP2_NO_ERROR);
    else stream.once('finish', () => stream.close(constants.NGHTTP2_NO_ERROR));
  }

  off(event: string, listener: (...args: never[]) => void): this {
    this.stream.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** A dropped body is not paused again (a late body fault would leave the stream unread for good). */
  pause(): this {
    if (!this.dropped) this.stream.pause();
    return this;
  }

  resume(): this {
    this.stream.resume();
    return this;
  }
}

/** node:http's test of an Expect value that asks for "100 Continue". */
const CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i;

type Refusal = 'method_not_allowed' | 'expectation_failed';

/**
 * veer's own refusal of a stream before the ingress, as over HTTP/1.1 (the same code and body). A stream
 * reset in the same read as its head is gone by now (Node emits 'stream' on the next tick): nothing is sent.
 */
function refuse(stream: ServerHttp2Stream, status: number, code: Refusal, message: string): void {
  if (stream.destroyed || stream.closed) return;
  const body = errorBody(code, message);
  stream.respond({ ':status': status, 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) }, PLAIN);
  stream.end(body);
}

/** What its access line says of a stream refused here. */
function refusedOf(code: Refusal, headers: IncomingHttpHeaders, socket: FrontSocket): RefusedRequest {
  const seen = { method: headers[':method'], host: headers[':authority'] ?? headers.host, path: headers[':path'] };
  return refusedRequest(code, socket.remoteAddress, seen);
}

/**
 * The ingress's entry for one HTTP/2 stream. What node:http answers before a request reaches veer over
 * HTTP/1.1 is answered here the same way: CONNECT (a tunnel, RFC 9113 §8.5) is refused, "Expect:
 * 100-continue" gets its interim 100 and any other expectation a 417. Everything else is served by the same
 * code as HTTP/1.1.
 */
export function h2Entry(
  handle: (req: FrontRequest, res: FrontResponse) => void,
  refused: (code: Refusal, seen: RefusedRequest) => void,
): (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, raw: string[], socket: FrontSocket) => void {
  return (stream, headers, raw, socket) => {
    stream.on('error', ignore);
    if (headers[':method'] === 'CONNECT') {
      refused('method_not_allowed', refusedOf('method_not_allowed', headers, socket));
      return refuse(stream, 405, 'method_not_allowed', 'CONNECT is not supported');
    }
    const expect = headers.expect;
    if (expect !== undefined) {
      if (!CONTINUE.test(expect)) {
        refused('expectation_failed', refusedOf('expectation_failed', headers, socket));
        return refuse(stream, 417, 'expectation_failed', 'only "Expect: 100-continue" is supported');
      }
      if (!stream.endAfterHeaders && !stream.closed && !stream.destroyed) stream.additionalHeaders({ ':status': 100 });
    }
    const req = new H2Request(stream, headers, raw, socket);
    handle(req, new H2Response(stream, req));
  };
}
