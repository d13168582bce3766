// An exchange's attempt against its upstream, as far as time goes: when the request was last handed over
// (the pool's latency is the upstream's own time, from the last byte handed over to its headers), and the
// bound it is held to meanwhile (upstream-deadlines.ts): timeouts.header until the response's headers, then
// timeouts.body between body chunks; past it the attempt is aborted through undici with undici's own
// timeout errors, so exchange.ts classifies them as before. exchange.ts is the flow around its attempts.
import { errors } from 'undici';
import type { Downstream } from './downstream.js';
import type { RequestBody } from './request-body.js';
import { overdue, type Deadlined, type DeadlineSweep } from './upstream-deadlines.js';

export abstract class TimedAttempt implements Deadlined {
  deadline = 0;
  slot = -1;
  gotHeaders = false;
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

  onConnect(abort: (err?: Error) => void): void {
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

  /** A bound passed (the sweep): no headers in time, or the body stalled. */
  expired(now: number): void {
    const abort = this.abortUpstream;
    if (abort === null) return;
    const next = overdue(this, this.bound(this.gotHeaders ? 'body' : 'header'), now);
    if (typeof next === 'number') return this.sweep().watchUntil(this, next);
    abort(next === 'headers' ? new errors.HeadersTimeoutError() : new errors.BodyTimeoutError());
  }
}
