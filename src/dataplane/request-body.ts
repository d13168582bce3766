// The client's request body as undici reads it. A stream of veer's own between the client and the
// upstream, so that what the client does to its body is told apart from what the upstream does:
// - the client going away, or sending slower than `idleMs` between chunks, is a client fault;
// - more than `limit` bytes is refused before the upstream receives a byte beyond the limit;
// - undici destroying this stream (an upstream failure) leaves the client's request intact, so
//   veer can still answer it.
import type { FrontRequest } from './front.js';
import { Readable } from 'node:stream';

export type BodyFault = 'client_closed' | 'body_timeout' | 'body_too_large';

/** The error this stream is destroyed with on a client fault; undici hands it back in onError. */
export class ClientBodyError extends Error {
  constructor(readonly fault: BodyFault) {
    super(`request body: ${fault}`);
  }
}

export interface BodyWatch {
  /** Called once, when the client is at fault. */
  onFault(fault: BodyFault): void;
}

function ignore(): void {}

export class RequestBody extends Readable {
  private received = 0;
  /** True while veer holds the client back because undici is not reading (upstream backpressure). */
  heldBack = false;
  private timer: NodeJS.Timeout | null = null;
  private faulted: BodyFault | null = null;

  constructor(
    private readonly req: FrontRequest,
    private readonly idleMs: number,
    private readonly limit: number,
    private readonly watch: BodyWatch,
  ) {
    super({ highWaterMark: 64 * 1024 });
    req.on('data', this.onData);
    req.on('end', this.onEnd);
    req.on('aborted', this.onAborted);
    req.on('error', this.onAborted);
    req.pause();
  }

  get fault(): BodyFault | null {
    return this.faulted;
  }

  /** Body bytes read from the client so far. */
  get bytesRead(): number {
    return this.received;
  }

  /** The whole body has been read from the client. */
  get complete(): boolean {
    return this.req.complete;
  }

  override _read(): void {
    this.heldBack = false;
    // The clock for a slow client starts when the upstream is ready to take the body.
    this.arm();
    this.req.resume();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.received += chunk.length;
    if (this.received > this.limit) return this.fail('body_too_large');
    this.timer?.refresh();
    if (!this.push(chunk)) {
      this.heldBack = true;
      this.req.pause();
    }
  };

  private readonly onEnd = (): void => {
    this.disarm();
    this.push(null);
  };

  private readonly onAborted = (): void => {
    if (!this.req.complete) this.fail('client_closed');
  };

  private arm(): void {
    if (this.timer === null && !this.req.complete && this.faulted === null) {
      this.timer = setTimeout(this.onIdle, this.idleMs);
      this.timer.unref();
    }
  }

  private readonly onIdle = (): void => {
    this.timer = null;
    // Waiting on the upstream, not on the client: not the client's fault.
    if (this.heldBack || this.req.complete) return;
    this.fail('body_timeout');
  };

  private fail(fault: BodyFault): void {
    if (this.faulted !== null || this.destroyed) return;
    this.faulted = fault;
    this.req.pause();
    this.watch.onFault(fault);
    // The error is for undici, which reads this stream only once the request is dispatched: a request still
    // waiting for a target has no reader yet, and an 'error' nobody hears would throw (the watch was told).
    if (this.listenerCount('error') === 0) this.once('error', ignore);
    this.destroy(new ClientBodyError(fault));
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.disarm();
    this.req.off('data', this.onData);
    this.req.off('end', this.onEnd);
    // 'aborted'/'error' stay: a request (node:http's IncomingMessage) that errors with no listener would throw.
    cb(err);
  }
}
