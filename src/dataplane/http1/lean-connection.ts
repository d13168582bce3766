// One client connection served by veer's own HTTP/1.1 front (`proxy.front: lean`). It keeps the guarantees of
// node:http's front and its ledger (ledger.ts): pipelined requests start one at a time, each once the answer before
// it is finished; an answer that closes the connection leaves the requests behind it unstarted; a body that breaks
// off after whole requests lets those be answered first; a dead connection closes every answer it owed. What the
// parser does not read itself (a refused head, an upgrade, an Expect, a head past the limit) goes to node:http with
// its bytes once every answer before it is finished, and the connection is node:http's from then on (its refusals).
import type { Socket } from 'node:net';
import { REFUSAL_STATUS, type ParserRefusal } from '../access-refusal.js';
import { answerRaw } from '../responses.js';
import { HeldBytes } from './held-bytes.js';
import { LeanRequest, type BodyFlow } from './lean-request.js';
import type { LeanLimits, LeanPorts } from './lean-ports.js';
import { LeanResponse, type ResponseOwner } from './lean-response.js';
import { ReadBounds } from './read-bounds.js';
import { TurnCork } from './turn-cork.js';
import { RequestParser, type ParsedRequests, type RequestHead } from './request-parser.js';

/** What the connection refuses itself (what else the parser does not read goes to node:http). */
type Refusal = Exclude<ParserRefusal, 'method_not_allowed' | 'expectation_failed'>;

/** Pipelined requests read ahead of their answer before the connection stops reading. */
const MAX_QUEUED = 32;

export class LeanConnection implements ParsedRequests, BodyFlow, ResponseOwner {
  readonly keepAliveS: number;
  readonly cork: TurnCork;
  readonly held = new HeldBytes();
  private readonly bounds: ReadBounds;
  private readonly parser: RequestParser;
  /** Requests owed an answer, oldest first; the first is started when `started`. */
  private readonly queue: { req: LeanRequest; res: LeanResponse }[] = [];
  private started = false;
  /** 'read': parsing; 'refer': to hand the rest to node:http; 'done': reading no more ('refuse': then `refusal`). */
  private reading: 'read' | 'refer' | 'done' | 'refuse' = 'read';
  private referral: Buffer | null = null;
  private refusal: Refusal = 'bad_request';
  /** Requests holding body bytes nobody read yet (each pipelined request holds on its own). */
  private holders = 0;
  private gone = false;

  constructor(
    readonly socket: Socket,
    limits: LeanLimits,
    private readonly ports: LeanPorts,
    now: () => number,
  ) {
    this.keepAliveS = Math.floor(limits.keepAliveTimeout / 1000);
    this.cork = new TurnCork(socket);
    this.parser = new RequestParser(this, limits.maxHeaderSize);
    this.bounds = new ReadBounds(limits.headersTimeout, limits.requestTimeout, now);
    socket.on('data', this.onData).on('drain', this.onDrain).on('error', this.onError);
    socket.on('close', this.onClose).on('end', this.onEnd);
    socket.setTimeout(limits.keepAliveTimeout, this.onIdle);
  }

  private readonly onData = (data: Buffer): void => {
    if (this.reading !== 'read') return;
    const r = this.parser.feed(data);
    if (r.kind === 'refer') this.referLater(r.bytes);
    else if (r.kind === 'broken') this.cut(r.refusal, r.bytes);
    else if (r.kind === 'closed') this.reading = 'done';
    this.next();
  };

  /** Starts the oldest request if none is being answered; hands over or ends when none is left. */
  private next(): void {
    if (this.started || this.gone) return;
    const x = this.queue[0];
    if (x !== undefined) {
      this.started = true;
      if (this.ports.closing()) x.res.shouldKeepAlive = false;
      this.ports.start(x.req, x.res);
      return;
    }
    if (this.reading === 'refer') this.handOver();
    else if (this.reading === 'refuse') this.refuse(this.refusal);
    else if (this.reading === 'done') this.socket.end();
  }

  begin(): void {
    this.bounds.begin();
  }

  head(head: RequestHead): boolean {
    this.bounds.headWhole();
    const req = new LeanRequest(head, this.socket, this);
    this.queue.push({ req, res: new LeanResponse(req, this, head.keepAlive) });
    this.ports.owed(1);
    // A client that pipelines faster than it is answered stops being read (what one read holds is bounded).
    if (this.queue.length >= MAX_QUEUED) this.socket.pause();
    return true;
  }

  body(chunk: Buffer): void {
    this.queue[this.queue.length - 1]?.req.push(chunk);
  }

  complete(): void {
    this.bounds.bodyWhole();
    this.queue[this.queue.length - 1]?.req.finish();
  }

  hold(): void {
    this.holders++;
    this.socket.pause();
  }

  release(): void {
    this.holders--;
    this.readMore();
  }

  /** The connection itself stopped reading: a body waits to be read or too many requests wait to be answered. */
  private get stopped(): boolean {
    return this.holders > 0 || this.queue.length >= MAX_QUEUED;
  }

  private readMore(): void {
    if (this.reading !== 'read' || this.stopped) return;
    this.socket.resume();
    this.bounds.resumed();
  }

  responseDone(res: LeanResponse): void {
    if (this.queue[0]?.res !== res) return;
    this.queue.shift();
    this.started = false;
    this.ports.owed(-1);
    // An answer that closes, or one before its body was read whole: nothing more is read (TCP holds the sender).
    if (!res.shouldKeepAlive || !res.req.complete) {
      this.reading = 'done';
      this.socket.pause();
      res.req.dump();
      this.socket.end();
      return;
    }
    res.req.dump();
    this.readMore();
    this.next();
  }

  /**
   * The body being read broke off (llhttp refused it) or was too slow. One started is cut (refused, or closed if
   * its answer began). One not started never starts (ledger.ts): the answers owed before it are given (never
   * cut for it), then node:http reads it from `bytes` if known, else it is refused.
   */
  private cut(code: Refusal, bytes: Buffer | null): void {
    this.reading = 'done';
    const last = this.queue[this.queue.length - 1];
    if (last === undefined) return;
    if (last === this.queue[0] && this.started) {
      last.req.abort();
      return void (last.res.headersSent ? this.socket.destroy() : this.refuse(code));
    }
    this.queue.pop()?.req.abort();
    this.ports.owed(-1);
    if (bytes !== null) this.referLater(bytes);
    else this.refuseInTurn(code);
  }

  /** Reads nothing more; the answers owed are given, then the refusal. */
  private refuseInTurn(code: Refusal): void {
    this.reading = 'refuse';
    this.refusal = code;
    this.socket.pause();
    this.next();
  }

  private refuse(code: Refusal): void {
    this.reading = 'done';
    this.ports.refused(code, this.started);
    answerRaw(this.socket, REFUSAL_STATUS[code], code);
  }

  /** Called by the front's sweep: a head or a body past its bound (node:http's headersTimeout/requestTimeout). */
  check(now: number): void {
    if (this.gone || this.reading !== 'read') return;
    // Not the client's time: the bounds stand still until the connection reads again.
    if (this.stopped) return this.bounds.stopped(now);
    const last = this.queue[this.queue.length - 1];
    const past = this.bounds.past(now, last !== undefined && !last.req.complete);
    if (past === 'body') this.cut('request_timeout', null);
    else if (past === 'head') this.refuseInTurn('request_timeout');
  }

  // Shutdown: one owing nothing, no head begun, stops reading and ends (a request crossing the end is never
  // started, so never sent on unanswered); one whose head has begun is read on and answered, with close.
  closeIfIdle(): void {
    if (this.queue.length > 0 || this.bounds.heading || this.reading !== 'read') {
      // Busy at shutdown: the answers owed whose head has not gone out say Connection: close.
      for (const x of this.queue) if (!x.res.headersSent) x.res.shouldKeepAlive = false;
      return;
    }
    this.reading = 'done';
    this.socket.pause();
    this.socket.end();
  }

  private readonly onIdle = (): void => {
    if (this.queue.length === 0) this.socket.destroy();
  };

  private readonly onDrain = (): void => {
    if (this.started) this.queue[0]?.res.emit('drain');
  };

  /**
   * The client half-closed: as node:http does (httpAllowHalfOpen off), every request not yet answered is
   * aborted and the connection ends; the answers see it close.
   */
  private readonly onEnd = (): void => {
    this.reading = 'done';
    for (const x of this.queue) x.req.abort();
    this.socket.end();
  };

  private readonly onError = (): void => void this.socket.destroy();

  private readonly onClose = (): void => {
    if (this.gone) return;
    this.gone = true;
    this.ports.forget(this);
    this.parser.close();
    for (const x of this.queue.splice(0)) {
      this.ports.owed(-1);
      x.req.abort();
      x.res.connectionClosed();
    }
  };

  /** node:http reads on from `bytes` once the answers owed before are finished (next()). */
  private referLater(bytes: Buffer): void {
    this.reading = 'refer';
    this.referral = bytes;
    this.socket.pause();
  }

  /** The rest of the connection is node:http's, starting with the request the parser did not read. */
  private handOver(): void {
    const bytes = this.referral as Buffer;
    this.gone = true;
    this.socket.off('data', this.onData).off('drain', this.onDrain).off('error', this.onError);
    this.socket.off('close', this.onClose).off('end', this.onEnd);
    this.socket.setTimeout(0);
    this.parser.close();
    this.ports.forget(this);
    this.socket.unshift(bytes);
    this.ports.refer(this.socket);
  }
}
