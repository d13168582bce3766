// One keep-alive HTTP/1.1 connection to an upstream, one request at a time (pipelining is unsafe in a
// proxy: one aborted request would take the others with it). It speaks to the exchange exactly as
// undici's dispatch does (the same handler calls, the same error codes), so fault.ts classifies its
// failures as before; what it leaves out is what a proxy's request never needs: undici's request
// object, its per-request timers and immediates, and copies of every field as a Buffer. Answers are
// read by upstream-response.ts.
import net from 'node:net';
import type { Readable } from 'node:stream';
import { errors } from 'undici';
import { mayResend, requestHead, type UpstreamCall, type UpstreamHandler } from './upstream-call.js';
import { uncorkThisTurn, type Uncorks } from './turn-cork.js';
import type { ConnectionOptions, ConnectionOwner } from './upstream-ports.js';
import { ResponseReader, type ResponseSink } from './upstream-response.js';

function ignore(): void {}

const KEEP_ALIVE = { keepAlive: true, keepAliveInitialDelay: 60_000 };

// Every upstream connection reads into this one buffer (net's onread: no buffer per read, no stream queue; +2.7%
// req/s side by side). Each read is parsed before the next lands; the reader copies the body's bytes out.
const READ_BUFFER = Buffer.allocUnsafe(65_536);

const codeOf = (err: Error | null): string | undefined => (err as (Error & { code?: string }) | null)?.code;

export class UpstreamConnection implements ResponseSink, Uncorks {
  readonly socket: net.Socket;
  /** performance.now() when it was last released. */
  idleSince = 0;
  private readonly reader: ResponseReader;
  private handler: UpstreamHandler | null = null;
  private call: UpstreamCall | null = null;
  /** Answers it carried whole; and whether any byte of the current one came. */
  private answered = 0;
  private heard = false;
  /** The request body being sent. */
  private sending: Readable | null = null;
  private failure: Error | null = null;
  /** Inside the handler's onConnect: nothing of the request is written yet. */
  private unsent = false;
  /** A request's head waiting for the turn's end (send). */
  private held: string | null = null;
  dead = false;

  constructor(
    private readonly owner: ConnectionOwner,
    private readonly opts: ConnectionOptions,
  ) {
    this.reader = new ResponseReader(this, opts.maxHeaderSize);
    // TCP keep-alive, as undici sets it: a peer gone without a word is found even on a long answer.
    const onread = { buffer: READ_BUFFER, callback: this.onRead };
    const socket = net.connect({ host: opts.host, port: opts.port, noDelay: true, ...KEEP_ALIVE, onread });
    this.socket = socket;
    if (opts.connectTimeout > 0) {
      socket.setTimeout(opts.connectTimeout, () => this.lose(new errors.ConnectTimeoutError()));
      socket.once('connect', () => socket.setTimeout(0));
    }
    socket.resume(); // flowing with no 'data' listener: reads go to onRead; 'end' and 'close' still come
    socket.on('end', this.onEnd);
    socket.on('error', (err: Error) => (this.failure ??= err));
    socket.on('close', this.onClose);
  }

  /** The turn's end: the held head goes out (a destroyed socket drops it, as it would have dropped a corked one). */
  uncork(): void {
    const text = this.held;
    if (text === null) return;
    this.held = null;
    if (!this.socket.destroyed) this.socket.write(text, 'latin1');
  }

  /** How long it may stay idle: the upstream's Keep-Alive, when it gave one. */
  get idleMs(): number {
    return this.reader.keepAliveMs;
  }

  /**
   * Sends `call`; its handler hears of everything from here on. False: its handler aborted it before a byte
   * was sent (its client left while it waited), and the connection is as free as before.
   */
  send(call: UpstreamCall, handler: UpstreamHandler): boolean {
    this.handler = handler;
    this.call = call;
    this.heard = false;
    this.reader.start(call.method === 'HEAD');
    this.unsent = true;
    handler.onConnect((err?: Error) => this.abort(handler, err));
    this.unsent = false;
    if (this.handler !== handler) return false;
    const text = requestHead(call, this.opts);
    if (call.body !== null) {
      this.pump(call.body, handler, text, call.contentLength);
      return true;
    }
    // Written at the end of the turn, as every request of the turn is: the upstream is woken once for them, and
    // a plain write of one piece costs less than a corked one (no buffered write for the uncork to take apart).
    this.held = text;
    uncorkThisTurn(this);
    // Handed over once the connection is up: a new connection's connect time is not the upstream's latency.
    if (!this.socket.connecting) handler.onRequestSent?.();
    else this.socket.once('connect', () => this.handler === handler && handler.onRequestSent?.());
    return true;
  }

  /**
   * The request body after its head (`text`), chunked unless its length was given (requestHead framed it so);
   * a length it does not keep fails the request.
   */
  private pump(body: Readable, handler: UpstreamHandler, text: string, length: number): void {
    const socket = this.socket;
    this.sending = body;
    socket.write(text, 'latin1');
    const mine = (): boolean => this.handler === handler && this.sending === body;
    body.on('error', (err: Error) => mine() && this.abort(handler, err));
    // The body is read once the connection is up, as undici reads it: a body refused meanwhile never
    // reaches the upstream.
    if (socket.connecting) socket.once('connect', () => mine() && this.flow(body, handler, mine, length));
    else this.flow(body, handler, mine, length);
  }

  /** `mine`: the connection is still on this request and this body. */
  private flow(body: Readable, handler: UpstreamHandler, mine: () => boolean, length: number): void {
    const socket = this.socket;
    const chunked = length < 0;
    const resume = (): void => void (mine() && body.resume());
    let sent = 0;
    body.on('data', (chunk: Buffer) => {
      if (!mine()) return;
      sent += chunk.length;
      if (!chunked && sent > length) return this.abort(handler, new errors.RequestContentLengthMismatchError());
      if (chunked) socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      const more = socket.write(chunk);
      if (chunked) socket.write('\r\n', 'latin1');
      handler.onBodySent?.(chunk);
      if (!more) {
        body.pause();
        socket.once('drain', resume);
      }
    });
    body.on('end', () => {
      if (!mine()) return;
      if (!chunked && sent !== length) return this.abort(handler, new errors.RequestContentLengthMismatchError());
      if (chunked) socket.write('0\r\n\r\n', 'latin1');
      this.sending = null;
      handler.onRequestSent?.();
    });
  }

  private readonly resume = (): void => {
    if (this.handler !== null) this.socket.resume();
  };

  /** `n` bytes read into READ_BUFFER. True: go on reading (a sink that wants no more paused the socket). */
  private readonly onRead = (n: number): boolean => {
    const handler = this.handler;
    // Bytes nobody asked for: the connection can no longer be trusted.
    if (handler === null) return (this.lose(null), true);
    this.heard = true;
    const r = this.reader.read(READ_BUFFER.subarray(0, n));
    if (r.kind === 'whole') this.complete(handler, r.leftover === 0);
    else if (r.kind === 'broken') this.lose(r.err);
    return true;
  };

  /** @internal The final answer's head, to the handler. */
  head(status: number, raw: string[], statusText: string): boolean {
    const handler = this.handler as UpstreamHandler;
    if (!handler.onHeaders(status, raw, this.resume, statusText)) this.socket.pause();
    return this.handler === handler;
  }

  /** @internal */
  body(bytes: Buffer): void {
    const handler = this.handler;
    if (handler !== null && !handler.onData(bytes)) this.socket.pause();
  }

  private complete(handler: UpstreamHandler, clean: boolean): void {
    // Answered before its body was all sent: the rest is not sent, and the connection is not used again
    // (the upstream may still read it as this request's), as undici resets it.
    const body = this.sending;
    this.sending = null;
    if (body !== null && !body.destroyed) {
      body.on('error', ignore);
      body.destroy();
    }
    const reusable = body === null && clean && this.reader.keepAlive && !this.socket.readableEnded && !this.dead;
    // A slow client paused it on this answer's last chunk: the next request's answer must be read.
    if (reusable && this.socket.isPaused()) this.socket.resume();
    this.handler = null;
    this.call = null;
    this.answered++;
    this.owner.released(this, reusable);
    handler.onComplete([]);
  }

  /** The upstream ended its side: a body read to the end of the connection is whole now; anything else is cut. */
  private readonly onEnd = (): void => {
    const handler = this.handler;
    if (handler === null) return this.lose(null);
    if (this.reader.ended()) return this.complete(handler, false);
    this.lose(new errors.SocketError('other side closed'));
  };

  private readonly onClose = (): void => {
    this.dead = true;
    const handler = this.handler;
    // A reset right after a body that ends with the connection leaves that body whole (undici reads it so too).
    if (handler !== null && codeOf(this.failure) === 'ECONNRESET' && this.reader.ended()) this.complete(handler, false);
    else if (handler !== null) this.fail(handler, this.failure ?? new errors.SocketError('other side closed'));
    this.reader.free();
    this.owner.gone(this);
  };

  /** Ends the connection; the request on it (if any) fails with `err`. */
  lose(err: Error | null): void {
    this.dead = true;
    const handler = this.handler;
    if (handler !== null) this.fail(handler, err ?? new errors.SocketError('closed'));
    this.socket.destroy();
  }

  private abort(handler: UpstreamHandler, err: Error | undefined): void {
    if (this.handler !== handler) return;
    if (this.unsent) return this.fail(handler, err ?? new errors.RequestAbortedError());
    this.lose(err ?? new errors.RequestAbortedError());
  }

  private fail(handler: UpstreamHandler, err: Error): void {
    this.handler = null;
    this.reader.stop();
    // A kept-alive connection the upstream closed as this request went out (its idle timeout, or it closes
    // after each answer without saying so): nothing was answered, so a request without a body that is safe
    // to repeat goes once more, on a new connection, as Go's client does. Anything else fails.
    const call = this.call as UpstreamCall;
    this.call = null;
    if (this.answered > 0 && !this.heard && mayResend(call, codeOf(err))) {
      call.resent = true;
      return this.owner.resend(call, handler);
    }
    const body = this.sending;
    this.sending = null;
    // As undici does: the body stream is destroyed with the failure (RequestBody keeps the client's request).
    if (body !== null && !body.destroyed) {
      body.on('error', ignore);
      body.destroy(err);
    }
    handler.onError(err);
  }
}
