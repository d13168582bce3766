// An answer written by veer's own HTTP/1.1 front (FrontResponse): the head (response-head.ts) goes out
// with the first body bytes, in one corked write per tick as node:http does; chunked framing when the
// head chose it. Its connection starts it only when every answer before it is finished, so it writes to
// the socket directly. 'finish' and 'close' follow once the last byte was handed to the kernel; 'close'
// alone, with writableFinished false, when the connection died first.
import { EventEmitter } from 'node:events';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { FrontResponse } from '../front.js';
import { announcesBody, type LeanRequest } from './lean-request.js';
import { CRLF, framedChunk, headAndBody, LAST_CHUNK, lastChunk } from './chunk-frame.js';
import type { HeldBytes } from './held-bytes.js';
import { responseHead } from './response-head.js';
import type { HoldsBack, TurnCork } from './turn-cork.js';

/** The connection, as its answers see it. */
export interface ResponseOwner {
  readonly socket: Socket;
  /** Seconds announced in Keep-Alive. */
  readonly keepAliveS: number;
  /**
   * Corks the socket until the end of this turn of the event loop (once per turn): every connection's answers
   * of one turn leave together (the clients are woken once each, not once per write).
   */
  readonly cork: TurnCork;
  /** What its answer holds back until the turn's uncork: one per connection, as one answer writes at a time. */
  readonly held: HeldBytes;
  /** The last byte of `res` was handed to the kernel. */
  responseDone(res: LeanResponse): void;
}

export class LeanResponse extends EventEmitter implements FrontResponse, HoldsBack {
  statusCode = 200;
  headersSent = false;
  shouldKeepAlive: boolean;
  writableFinished = false;
  writableEnded = false;
  private gone = false;
  private closed = false;
  private chunked = false;
  private bodyless = false;
  private head: string | null = null;
  /**
   * Writes handed to the socket and not called back yet; `failed`: one was called back with an error; `ending`:
   * end() wrote its last bytes to an open socket (the last callback then finishes the answer).
   */
  private unsent = 0;
  private failed = false;
  private ending = false;
  private trailers: OutgoingHttpHeaders | null = null;

  constructor(
    readonly req: LeanRequest,
    private readonly owner: ResponseOwner,
    keepAlive: boolean,
  ) {
    super();
    this.shouldKeepAlive = keepAlive;
  }

  get destroyed(): boolean {
    return this.gone || this.owner.socket.destroyed;
  }

  /** Bytes not taken by the kernel yet: the socket's, and what the answer holds for the turn's uncork. */
  get writableLength(): number {
    return this.owner.socket.writableLength + this.owner.held.length;
  }

  writeHead(statusCode: number, a?: string | OutgoingHttpHeaders | string[], b?: string[]): this {
    if (this.headersSent) throw new Error('ERR_HTTP_HEADERS_SENT: the head was written already');
    const named = typeof a === 'string';
    const r = this.req;
    // Throws on a field Node would refuse, before anything changes: the caller can still answer.
    const head = responseHead({
      status: statusCode,
      statusText: named ? a : null,
      headers: named ? b : a,
      head: r.method === 'HEAD',
      http11: r.httpVersionMajor > 1 || (r.httpVersionMajor === 1 && r.httpVersionMinor >= 1),
      // An answer given before its request's body was read ends the connection (lean-connection.ts): say so.
      keepAlive: this.shouldKeepAlive && (r.complete || !announcesBody(r.rawHeaders)),
      keepAliveS: this.owner.keepAliveS,
    });
    this.statusCode = statusCode;
    this.headersSent = true;
    this.chunked = head.chunked;
    this.bodyless = head.bodyless;
    this.shouldKeepAlive = head.keepAlive;
    this.head = head.text;
    return this;
  }

  /** Whether the socket can take bytes for this answer (after a 400 the connection wrote itself, it cannot). */
  private get open(): boolean {
    const s = this.owner.socket;
    return !this.writableEnded && !s.destroyed && !s.writableEnded;
  }

  /** The head not yet written (''), then `more`, in one string, as node:http does; `cork`: to be sent now. */
  private withHead(more: string, cork = true): string {
    const head = this.head;
    if (head === null) return more;
    this.head = null;
    if (cork) this.owner.cork.corkForTick();
    return head + more;
  }

  /** What is held back for the turn's uncork, written. */
  sendHeld(): void {
    const bytes = this.owner.held.take();
    const s = this.owner.socket;
    if (bytes !== null && !s.destroyed && !s.writableEnded) this.send(bytes);
  }

  /** Holds `bytes` until the turn's uncork (what was held before goes first). */
  private hold(bytes: Buffer, whole: boolean): boolean {
    this.heldFirst();
    this.owner.held.put(bytes, whole);
    this.owner.cork.holdUntilUncork(this);
    return !this.owner.socket.writableNeedDrain;
  }

  private flushHead(): void {
    if (this.head !== null) this.send(this.withHead(''), 'latin1');
  }

  /**
   * Every byte of the answer goes through here (a head in latin1, a body string in UTF-8, as node:http writes them),
   * called back once the kernel took it (or the socket is gone): the last callback after end() finishes the answer,
   * with no empty write of its own to wait on (a lone answer's one buffer then leaves by a plain write, not a gathered
   * one: side by side against the build before, +4.9% and +5.3% req/s, medians of 6 rounds each).
   */
  private send(data: Buffer | string, encoding: BufferEncoding = 'utf8'): boolean {
    this.heldFirst();
    this.unsent++;
    return this.owner.socket.write(data, encoding, this.onSent);
  }

  /** Anything held goes out first, into the turn's cork, which what is written next then joins. */
  private heldFirst(): void {
    if (this.owner.held.held) this.owner.cork.corkForTick();
  }

  // A write still in flight when its socket is destroyed is called back without an error (Node's onWriteComplete):
  // the answer did not reach the client, and the next request on a dead connection must not start.
  private readonly onSent = (err?: Error | null): void => {
    this.unsent--;
    if (err != null) this.failed = true;
    if (this.ending && this.unsent === 0 && !this.failed && !this.destroyed) this.finished();
  };

  write(chunk: Buffer | string): boolean {
    if (!this.headersSent) this.writeHead(this.statusCode);
    if (!this.open) return true;
    if (this.bodyless || chunk.length === 0) {
      this.flushHead();
      return !this.owner.socket.writableNeedDrain;
    }
    if (!this.chunked) {
      if (this.head !== null && typeof chunk !== 'string' && chunk.length <= MERGE_MAX) {
        // Head and body in one buffer, held to the turn's uncork: a lone answer leaves by one plain write (+2.5% req/s
        // side by side, with the upstream's request held too; bench/RESULTS.md). Only below the socket's high-water
        // mark: a write past it is made now, so that its 'drain' follows.
        const merged = headAndBody(this.withHead('', false), chunk);
        const s = this.owner.socket;
        if (s.writableLength + merged.length < s.writableHighWaterMark) return this.hold(merged, true);
        this.owner.cork.corkForTick();
        return this.send(merged);
      }
      this.flushHead();
      return this.send(chunk);
    }
    // One buffer where there were three pieces and callbacks (size line, data, CRLF): see chunk-frame.ts. It is held
    // until the turn's uncork, with room for the last chunk: an end() in the same turn makes the answer one piece
    // (on chunked upstream answers, both steps: +4%, see chunk-frame.ts).
    if (typeof chunk !== 'string' && chunk.length <= MERGE_MAX)
      return this.hold(framedChunk(this.withHead('', false), chunk), false);
    this.send(this.withHead(`${Buffer.byteLength(chunk).toString(16)}\r\n`), 'latin1');
    this.send(chunk);
    return this.send(CRLF);
  }

  end(chunk?: Buffer | string): this {
    if (this.writableEnded) return this;
    // A whole body given at once with no head yet: node:http gives it a length.
    if (!this.headersSent)
      this.writeHead(this.statusCode, chunk === undefined ? [] : ['content-length', String(Buffer.byteLength(chunk))]);
    if (chunk !== undefined && chunk.length > 0) this.write(chunk);
    if (!this.open) {
      this.writableEnded = true;
      return this;
    }
    this.flushHead();
    this.writableEnded = true;
    this.ending = true;
    // What is held ends the answer, and its write's callback finishes it.
    if (this.owner.held.ends(this.trailers !== null)) return this;
    if (this.chunked && !this.bodyless) this.send(this.trailers === null ? LAST_CHUNK : lastChunk(this.trailers));
    // Nothing in flight: every byte was called back before this end (or none was written); an empty write keeps
    // 'finish' after end() returns.
    else if (this.unsent === 0) this.send(EMPTY);
    return this;
  }

  addTrailers(fields: OutgoingHttpHeaders): void {
    this.trailers = fields;
  }

  cork(): void {
    this.owner.socket.cork();
  }

  uncork(): void {
    this.owner.socket.uncork();
  }

  destroy(): this {
    if (this.gone) return this;
    this.gone = true;
    this.owner.cork.uncork();
    this.owner.socket.destroy();
    return this;
  }

  /** @internal The connection closed: the answer is over, finished or not. */
  connectionClosed(): void {
    this.gone = true;
    this.emitClose();
  }

  private finished(): void {
    this.writableFinished = true;
    this.emit('finish');
    this.owner.responseDone(this);
    this.emitClose();
  }

  private emitClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }
}

const EMPTY = Buffer.alloc(0);
// A first body chunk up to this size is copied behind the head; a larger one is written as it is (its copy would
// cost more than the chunk it saves).
const MERGE_MAX = 16 * 1024;
