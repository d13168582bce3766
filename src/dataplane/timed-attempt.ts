// An exchange's attempt against its upstream, as far as time goes: when the request was last handed over
// (the pool's latency is the upstream's own time, from the last byte handed over to its headers), and the
// bound it is held to meanwhile (upstream-deadlines.ts): timeouts.header until the response's headers, then
// timeouts.body between body chunks; past it the attempt is aborted through undici with undici's own
// timeout errors, so exchange.ts classifies them as before. The same sweep bounds what is not the upstream's:
// a request queued for a free connection (timeouts.header), and a client that takes none of the answer
// (timeouts.body: a client holding an answer unread holds its upstream connection). exchange.ts is the flow
// around its attempts.
import { errors } from 'undici';
import type { Downstream } from './downstream.js';
import type { RequestBody } from './request-body.js';
import type { ProxyErrorCode } from './responses.js';
import { overdue, type Deadlined, type DeadlineSweep } from './upstream-deadlines.js';

export abstract class TimedAttempt implements Deadlined {
  deadline = 0;
  slot = -1;
  gotHeaders = false;
  /** Dispatched and waiting in its target's queue for a free connection (no onConnect yet). */
  protected queued = false;
  /** When the request was last handed to the upstream (dispatch, each body chunk, fully sent). */
  protected handedAt = 0;
  protected abortUpstream: ((err?: Error) => void) | null = null;
  abstract readonly body: RequestBody | null;
  abstract readonly down: Downstream;
  /** Answered, or its client gone. */
  abstract get over(): boolean;
  protected abstract sweep(): DeadlineSweep;
  /** The bound of a phase in ms (a gRPC call's deadline widens it). */
  protected abstract bound(which: 'header' | 'body'): number;
  /** Answers it with veer's own error (its wait for a target, or here for a connection, ended without one). */
  abstract giveUp(code: ProxyErrorCode): void;
  /** Its client left (or was cut): the upstream request stops, counted as the client's doing. */
  abstract responseClosed(): void;
  /** Its client was cut for taking none of its answer for the bound (Downstream.cut): told as a client that left. */
  protected abstract clientCut(): void;

  /** A new attempt is about to be dispatched: queued until its pool gives it a connection (onConnect). */
  protected sending(): void {
    this.gotHeaders = false;
    this.handedAt = performance.now();
    this.queued = true;
  }

  /** The attempt ended (answered, failed or aborted): off the sweep and off its connection. */
  protected released(): void {
    this.sweep().unwatch(this);
    this.abortUpstream = null;
    this.queued = false;
  }

  /**
   * Right after its dispatch: a request the pool queued (every connection busy) is bounded from now on, so a
   * target whose connections are all held (slow clients, a stalled upstream) never leaves it waiting for good.
   * The usual request got its connection within the dispatch (onConnect): nothing is done for it here.
   */
  protected dispatched(): void {
    if (this.queued && this.slot < 0) this.sweep().watch(this, this.bound('header'));
  }

  onConnect(abort: (err?: Error) => void): void {
    this.queued = false;
    this.abortUpstream = abort;
    if (this.over) abort();
    else this.sweep().watch(this, this.bound('header'));
  }

  onBodySent(): void {
    this.handedAt = performance.now();
    if (!this.gotHeaders) this.sweep().watchUntil(this, this.handedAt + this.bound('header'));
  }

  onRequestSent(): void {
    this.onBodySent();
  }

  /** The response's headers came, or a body chunk: the body's bound starts again (`now`: performance.now()). */
  protected bodyMoved(now = performance.now()): void {
    this.sweep().watchUntil(this, now + this.bound('body'));
  }

  /** A bound passed (the sweep): no headers in time, the body stalled, or the client stopped taking it. */
  expired(now: number): void {
    const abort = this.abortUpstream;
    if (abort === null) return this.offConnection(now);
    if (this.down.paused) this.down.tookBytes(now);
    const next = overdue(this, this.bound(this.gotHeaders ? 'body' : 'header'), now);
    if (typeof next === 'number') return this.sweep().watchUntil(this, next);
    if (next === 'client') return this.clientStalled();
    abort(next === 'headers' ? new errors.HeadersTimeoutError() : new errors.BodyTimeoutError());
  }

  /**
   * Watched with no connection: waiting in its target's queue (past the header bound: 504 as the upstream's
   * timeout would be, yet not the pool's, as the queue is veer's own and slow clients may be what fills it), or
   * answered whole while its client is paused on the last bytes.
   */
  private offConnection(now: number): void {
    if (this.queued) return this.giveUp('upstream_timeout');
    const down = this.down;
    if (!down.paused || down.over) return;
    down.tookBytes(now);
    const at = down.movedAt + this.bound('body');
    if (at > now) this.sweep().watchUntil(this, at);
    else this.clientStalled();
  }

  /** Cut like a client that left (clientCut: the upstream stops if it still sends); no pool counts it. */
  private clientStalled(): void {
    this.down.cut();
    this.clientCut();
  }

  /** Answered whole while its client has some of it still to take: the client's bound still runs. */
  protected watchSlowClient(): void {
    if (this.down.lingering()) this.sweep().watchUntil(this, this.down.movedAt + this.bound('body'));
  }
}
