// One upstream target's HTTP/1.1 connections for veer's own client (upstream-connection.ts): at most
// `connections` at once, a request waiting in order when all are busy, idle ones reused newest first
// (the oldest run out their idle time and close) and closed past `idleTimeout` or the upstream's own
// Keep-Alive, whichever is shorter, by one sweep rather than a timer per connection. It has undici's
// Pool's surface as the data plane uses it: dispatch, a graceful close and a destroy.
import { errors } from 'undici';
import { checkedCall, type Dispatched, type UpstreamCall, type UpstreamHandler } from './upstream-call.js';
import { UpstreamConnection } from './upstream-connection.js';
import type { ConnectionOptions, ConnectionOwner } from './upstream-ports.js';
import { uncorkNow } from './turn-cork.js';

export interface PoolOptions extends ConnectionOptions {
  connections: number;
  idleTimeout: number;
}

/** How often idle connections are checked (and at most how late one past its time closes). */
const SWEEP_MS = 1_000;

export class UpstreamPool implements ConnectionOwner {
  private readonly all = new Set<UpstreamConnection>();
  private readonly idle: UpstreamConnection[] = [];
  private readonly waiting: { call: UpstreamCall; handler: UpstreamHandler }[] = [];
  /** Connections whose answer ended in this loop turn, and those whose answer ended in the last one (`released`). */
  private settling: UpstreamConnection[] = [];
  private ripening: UpstreamConnection[] = [];
  private settle: NodeJS.Immediate | null = null;
  private sweeper: NodeJS.Timeout | null = null;
  private closing: (() => void) | null = null;
  private whenClosed: Promise<void> | null = null;
  private closed = false;
  private destroyed = false;

  constructor(private readonly opts: PoolOptions) {}

  /** Connections open now (busy or idle). */
  get size(): number {
    return this.all.size;
  }

  dispatch(d: Dispatched, handler: UpstreamHandler): boolean {
    const call = checkedCall(d);
    if (call instanceof Error) return refuse(handler, call);
    if (this.closed)
      return refuse(handler, this.destroyed ? new errors.ClientDestroyedError() : new errors.ClientClosedError());
    // A connection being handed on (see `released`) is free by the next check phase at the latest: waiting for it
    // is sooner than a new connection, and keeps the pool at the size the load needs.
    const handing = this.settling.length + this.ripening.length > this.waiting.length;
    const c = this.idleOne() ?? (handing ? null : this.open());
    if (c === null) {
      this.waiting.push({ call, handler });
      return false;
    }
    if (!c.send(call, handler)) this.serve(c);
    return true;
  }

  /**
   * @internal Handed on only after one more poll of the loop: a close or stray bytes the upstream sent right
   * behind the answer (one that closes after each answer without saying so, or a broken one) must meet an
   * idle connection, not the next request (which would fail, or read them as its answer). libuv stops a read
   * short of the end of the connection once it read less than its buffer, so a FIN sent with the answer is
   * seen only by the next poll: the connection is handed on at the check phase after it, as undici does
   * (GHSA-35p6-xmwp-9g52). One immediate per pool and turn serves every connection released in it.
   */
  released(c: UpstreamConnection, reusable: boolean): void {
    if (!reusable) return c.lose(null);
    this.settling.push(c);
    this.settle ??= setImmediate(this.settled);
  }

  private readonly settled = (): void => {
    const ripe = this.ripening;
    this.ripening = this.settling;
    this.settling = [];
    // Scheduled from the check phase, the next one runs after the next poll.
    this.settle = this.ripening.length > 0 ? setImmediate(this.settled) : null;
    for (const c of ripe) {
      if (usable(c)) this.serve(c);
      else c.lose(null);
    }
    uncorkNow();
  };

  /**
   * Gives `c` the next waiting request still wanted (requests whose client left meanwhile are passed over,
   * in a loop: thousands may have left while a stalled target held every connection), or idles it.
   */
  private serve(c: UpstreamConnection): void {
    for (let w = this.waiting.shift(); w !== undefined; w = this.waiting.shift()) if (c.send(w.call, w.handler)) return;
    // Requests that waited before a close were served above; nothing new comes.
    if (this.closed) return c.lose(null);
    c.idleSince = performance.now();
    this.idle.push(c);
    this.sweeper ??= setInterval(this.sweep, SWEEP_MS).unref();
  }

  /** @internal */
  resend(call: UpstreamCall, handler: UpstreamHandler): void {
    // A graceful close still serves what was sent (gone() opens a connection for it); a destroy does not.
    if (this.destroyed) return void handler.onError(new errors.ClientDestroyedError());
    // First in line: a new connection takes it once the closed one is gone (gone() below).
    this.waiting.unshift({ call, handler });
  }

  /** @internal */
  gone(c: UpstreamConnection): void {
    this.all.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    const next = this.waiting.length > 0 ? this.open() : null;
    if (next !== null) this.serve(next);
    if (this.closing !== null && this.all.size === 0 && this.waiting.length === 0) this.closing();
  }

  /** Takes no more requests; resolves once those sent and waiting are answered and every connection is closed. */
  close(): Promise<void> {
    if (this.whenClosed !== null) return this.whenClosed;
    this.closed = true;
    for (const c of this.idle.splice(0)) c.lose(null);
    this.stopSweep();
    this.whenClosed =
      this.all.size === 0 && this.waiting.length === 0
        ? Promise.resolve()
        : new Promise((resolve) => (this.closing = resolve));
    return this.whenClosed;
  }

  /** Fails every request sent or waiting and closes every connection. */
  destroy(): Promise<void> {
    this.closed = true;
    this.destroyed = true;
    this.stopSweep();
    for (const w of this.waiting.splice(0)) w.handler.onError(new errors.ClientDestroyedError());
    for (const c of [...this.all]) c.lose(new errors.ClientDestroyedError());
    return Promise.resolve();
  }

  /** The idle connection used last that is still good for a request. */
  private idleOne(): UpstreamConnection | null {
    const now = performance.now();
    for (let c = this.idle.pop(); c !== undefined; c = this.idle.pop()) {
      if (usable(c) && now - c.idleSince < this.limitOf(c)) return c;
      c.lose(null);
    }
    return null;
  }

  private open(): UpstreamConnection | null {
    if (this.all.size >= this.opts.connections) return null;
    const c = new UpstreamConnection(this, this.opts);
    this.all.add(c);
    return c;
  }

  private limitOf(c: UpstreamConnection): number {
    return Math.min(this.opts.idleTimeout, c.idleMs);
  }

  private readonly sweep = (): void => {
    const now = performance.now();
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const c = this.idle[i] as UpstreamConnection;
      if (now - c.idleSince < this.limitOf(c)) continue;
      this.idle.splice(i, 1);
      c.lose(null);
    }
    if (this.idle.length === 0) this.stopSweep();
  };

  private stopSweep(): void {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
  }
}

/** Able to carry another request: not lost, and the upstream has not ended its side. */
const usable = (c: UpstreamConnection): boolean => !c.dead && !c.socket.destroyed && !c.socket.readableEnded;

function refuse(handler: UpstreamHandler, err: Error): false {
  handler.onError(err);
  return false;
}
