// A request read by veer's own HTTP/1.1 front (FrontRequest): its head, and its body as events. The body
// is held while the request is paused (it starts paused: nothing reads it before the exchange asks), and
// the connection stops reading the socket while any held request has bytes waiting (backpressure). A body
// nobody read by the time its answer is finished is dropped (node:http's dump), so the connection reads on.
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { FrontRequest } from '../front.js';
import { incomingHeaders } from './incoming-headers.js';
import type { RequestHead } from './request-parser.js';

/** What the request tells its connection. */
export interface BodyFlow {
  /** This request has bytes waiting: stop reading the socket. Once per request until its release. */
  hold(): void;
  /** This request's waiting bytes are gone: the socket may be read again (if no other request holds). */
  release(): void;
}

function flush(req: LeanRequest): void {
  req.flushNow();
}

export class LeanRequest extends EventEmitter implements FrontRequest {
  readonly rawHeaders: string[];
  url: string | undefined;
  readonly method: string;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  complete = false;
  /** The body was cut off before it was read whole ('aborted' said so). */
  aborted = false;
  private paused = true;
  private waiting: Buffer[] | null = null;
  private endPending = false;
  private flushing = false;
  /** Its answer was finished first: what is left of the body is dropped. */
  private dumped = false;
  private built: IncomingHttpHeaders | null = null;

  constructor(
    head: RequestHead,
    readonly socket: Socket,
    private readonly flow: BodyFlow,
  ) {
    super();
    this.rawHeaders = head.rawHeaders;
    this.url = head.url;
    this.method = head.method;
    this.httpVersionMajor = head.versionMajor;
    this.httpVersionMinor = head.versionMinor;
  }

  /** Built on first use, as node:http does. */
  get headers(): IncomingHttpHeaders {
    return (this.built ??= incomingHeaders(this.rawHeaders));
  }

  pause(): this {
    this.paused = true;
    return this;
  }

  /** As a Readable's: what waited is emitted on the next tick, never inside the caller (undici reads from _read). */
  resume(): this {
    if (!this.paused) return this;
    this.paused = false;
    if ((this.waiting !== null || this.endPending) && !this.flushing) {
      this.flushing = true;
      process.nextTick(flush, this);
    }
    return this;
  }

  /** @internal */
  flushNow(): void {
    this.flushing = false;
    if (this.paused) return;
    const waiting = this.waiting;
    if (waiting !== null) {
      let i = 0;
      while (i < waiting.length && !this.paused) this.emit('data', waiting[i++]);
      // Paused again by a listener: the rest waits on, and the socket stays held.
      if (i < waiting.length) {
        this.waiting = waiting.slice(i);
        return;
      }
      this.waiting = null;
      this.flow.release();
    }
    if (this.endPending && !this.paused) this.emitEnd();
  }

  /** @internal The connection's: a piece of the body. */
  push(chunk: Buffer): void {
    if (this.dumped) return;
    if (this.paused || this.waiting !== null) {
      if (this.waiting === null) {
        this.waiting = [];
        this.flow.hold();
      }
      this.waiting.push(chunk);
      return;
    }
    this.emit('data', chunk);
  }

  /** @internal The body was read whole. */
  finish(): void {
    this.complete = true;
    if (this.dumped) return;
    if (this.paused || this.waiting !== null) this.endPending = true;
    else this.emitEnd();
  }

  /**
   * @internal Its answer is finished: the body nobody read is dropped and no longer holds the socket (read
   * on when the answer kept the connection, else never read).
   */
  dump(): void {
    this.dumped = true;
    this.endPending = false;
    if (this.waiting === null) return;
    this.waiting = null;
    this.flow.release();
  }

  /** @internal The connection closed or broke before the body was read whole. */
  abort(): void {
    if (this.complete || this.aborted) return;
    this.aborted = true;
    this.emit('aborted');
  }

  private emitEnd(): void {
    this.endPending = false;
    this.emit('end');
  }
}

/** Whether a request's head announces a body (a Content-Length other than 0, or a Transfer-Encoding). */
export function announcesBody(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (name === 'transfer-encoding') return true;
    if (name === 'content-length' && (raw[i + 1] as string).trim() !== '0') return true;
  }
  return false;
}
