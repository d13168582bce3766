// The answer to one HTTP/2 request, written straight to its stream (FrontResponse). node:http2's
// compatibility response wrapped every stream in a second stream object with its own listeners, and
// always ended in a separate trailers frame: at saturation veer on it allocated ~28 KB per request and
// spent a fifth of its time in the scavenger. Its behaviour is kept where veer relied on it: a closed
// stream takes no head, connection-specific fields are dropped (RFC 9113 §8.2.2), and Node adds no
// Date of its own (the upstream's passes through).
import type { OutgoingHttpHeaders } from 'node:http';
import { constants, type ServerHttp2Stream, type ServerStreamResponseOptions } from 'node:http2';
import type { FrontResponse } from './front.js';
import type { H2Request } from './h2-request.js';

/** Fields HTTP/2 forbids, dropped as the compatibility response dropped them (`te` unless it says "trailers"). */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** node:http2 takes `sendDate` (its compatibility response passes it); @types/node does not declare it. */
type RespondOptions = ServerStreamResponseOptions & { sendDate: boolean };
export const PLAIN: RespondOptions = { sendDate: false };
const WITH_TRAILERS: RespondOptions = { waitForTrailers: true, sendDate: false };
const ALL_HEADERS: RespondOptions = { endStream: true, sendDate: false };

/** The head as node:http2 takes it: lower-case names, a repeated field as an array. */
export function h2Fields(
  status: number,
  fields: OutgoingHttpHeaders | readonly string[] | undefined,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':status': status };
  if (fields === undefined) return out;
  if (!Array.isArray(fields)) {
    const named = fields as OutgoingHttpHeaders;
    for (const name in named) add(out, name.toLowerCase(), named[name]);
    return out;
  }
  for (let i = 0; i < fields.length; i += 2) add(out, (fields[i] as string).toLowerCase(), fields[i + 1]);
  return out;
}

function add(out: OutgoingHttpHeaders, name: string, value: OutgoingHttpHeaders[string]): void {
  if (value === undefined) return;
  // A pseudo-header here would replace :status: refused as node:http2 refuses it (the caller catches).
  if (name.charCodeAt(0) === 58) throw new Error(`pseudo-header ${name} in a response's fields`);
  if (CONNECTION_SPECIFIC.has(name) || (name === 'te' && String(value).toLowerCase() !== 'trailers')) return;
  const had = out[name];
  if (had === undefined) out[name] = value;
  else out[name] = (Array.isArray(had) ? had : [String(had)]).concat(value as string | string[]);
}

/** A trailer field Node refuses drops the trailers (the body stays whole): a throw in Node's callback is uncaught. */
function sendTrailers(stream: ServerHttp2Stream, fields: OutgoingHttpHeaders): void {
  try {
    stream.sendTrailers(fields);
  } catch {
    if (!stream.destroyed) stream.sendTrailers({});
  }
}

/** What a cut answer's stream is destroyed with: any error resets it with INTERNAL_ERROR (its 'error' is heard). */
const CUT = new Error('the answer was cut short');

/** Streams veer reset itself (rare: an answer cut short, a client too slow); weak, so a closed stream goes. */
const ownResets = new WeakSet<ServerHttp2Stream>();

/**
 * Whether veer reset this stream itself: the rapid-reset guard (h2-sessions.ts) counts the client's resets only,
 * or an upstream that breaks off its answers would cost their client its connection.
 */
export const resetByVeer = (stream: ServerHttp2Stream): boolean => ownResets.has(stream);

export class H2Response implements FrontResponse {
  statusCode = 200;
  /** HTTP/2 has no such flag; veer's own answers set it for HTTP/1.1. */
  shouldKeepAlive: boolean | undefined = undefined;
  /**
   * The answer may end in trailers (set before the head: a gRPC service's answer). Only then does the
   * stream wait for them; any other answer ends with its last DATA frame, not with an empty one after it.
   */
  sendsTrailers = false;
  private trailers: OutgoingHttpHeaders = {};
  /** veer ended the answer (Node ends a stream's writable side itself when the stream closes). */
  private ended = false;

  constructor(
    readonly stream: ServerHttp2Stream,
    readonly req: H2Request,
  ) {}

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  /**
   * Ended by veer and not reset: a client's reset after the end is not a whole answer, and neither is a
   * stream that closed first (its writable side ended by Node, its code NO_ERROR when the session went).
   */
  get writableFinished(): boolean {
    return this.ended && this.stream.rstCode === constants.NGHTTP2_NO_ERROR;
  }

  get writableLength(): number {
    return this.stream.writableLength;
  }

  get destroyed(): boolean {
    return this.stream.destroyed;
  }

  /** A reason phrase is ignored (HTTP/2 has none). Throws what node:http2 throws for a field it refuses. */
  writeHead(statusCode: number, a?: OutgoingHttpHeaders | string[] | string, b?: string[]): this {
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return this;
    const fields = h2Fields(statusCode, typeof a === 'string' ? b : a);
    this.statusCode = statusCode;
    const waitForTrailers = this.sendsTrailers;
    stream.respond(fields, waitForTrailers ? WITH_TRAILERS : PLAIN);
    if (waitForTrailers) stream.once('wantTrailers', () => sendTrailers(stream, this.trailers));
    return this;
  }

  /** True on a stream gone or closed: no 'drain' would ever come to resume the upstream (its close stops it). */
  write(chunk: Buffer): boolean {
    const stream = this.stream;
    return stream.destroyed || stream.closed || stream.write(chunk);
  }

  /** On a stream the client closed first nothing is sent, and the answer is not whole; its body is still dropped. */
  end(chunk?: Buffer | string): this {
    const stream = this.stream;
    if (stream.destroyed) return this;
    if (!stream.closed) {
      this.ended = true;
      if (!stream.headersSent) this.writeHead(this.statusCode);
      // A HEAD request's stream has its writable side ended from the start (its head says END_STREAM).
      if (!stream.writableEnded) {
        if (chunk === undefined) stream.end();
        else stream.end(chunk);
      }
    }
    if (!this.req.complete) this.req.dropBody(!this.sendsTrailers);
    return this;
  }

  /**
   * An answer that is all headers, in its one HEADERS frame (END_STREAM): a gRPC Trailers-Only answer must be,
   * or gRPC clients read its grpc-status as metadata and wait for trailers. Throws what node:http2 throws for
   * a field it refuses (nothing was sent then).
   */
  endWithHeaders(status: number, fields: readonly string[]): void {
    const stream = this.stream;
    if (stream.destroyed) return;
    if (!stream.closed) {
      this.statusCode = status;
      stream.respond(h2Fields(status, fields), ALL_HEADERS);
      this.ended = true;
    }
    // No reset after it: a gRPC client (grpc-js on Node 26) reads RST_STREAM NO_ERROR as INTERNAL, status lost.
    if (!this.req.complete) this.req.dropBody(false);
  }

  /** Sent at the end when `sendsTrailers` was set before the head; otherwise there is no place for them. */
  addTrailers(fields: OutgoingHttpHeaders): void {
    this.trailers = fields;
  }

  cork(): void {
    this.stream.cork();
  }

  uncork(): void {
    this.stream.uncork();
  }

  /**
   * A cut answer: reset with INTERNAL_ERROR, so the client never takes it for whole. A bare destroy says
   * NO_ERROR, and close(code) ends the stream (END_STREAM) before its reset when nothing is left to send.
   */
  destroy(): this {
    ownResets.add(this.stream);
    this.stream.destroy(CUT);
    return this;
  }

  /** Reset at once with `code` (close() alone would wait for the queued bytes to be sent first). */
  reset(code: number): void {
    ownResets.add(this.stream);
    this.stream.close(code);
    this.stream.destroy();
  }

  once(event: 'drain' | 'close', listener: () => void): this {
    this.stream.once(event, listener);
    return this;
  }

  on(event: 'close', listener: () => void): this {
    this.stream.on(event, listener);
    return this;
  }

  off(event: 'close', listener: () => void): this {
    this.stream.off(event, listener);
    return this;
  }
}
