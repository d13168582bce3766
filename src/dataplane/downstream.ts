// The client's side of one exchange: the upstream's status and headers (with veer's own added)
// written to the client, and the body passed on with backpressure. Apart from exchange.ts, which
// keeps the flow (attempts, retries, who is at fault) without the byte-moving.
import type { FrontResponse } from './front.js';
import { constants } from 'node:http2';
import { processBacklog, type Backlogged, type BacklogBudget } from './backlog-budget.js';
import { onClientLoss } from './client-loss.js';
import { H2Response } from './h2-response.js';
import { downstreamResponseHeaders, type RawField } from './headers.js';
import { endWithHeaders, trailerFields } from './trailers-only.js';

/**
 * How far a client of an h2c service may fall behind before it is cut. undici's HTTP/2 client ends a
 * response when its trailers arrive, dropping what a paused stream still buffers (client-h2.js, its
 * 'trailers' handler), so an h2c answer is never paused: a slow client's bytes wait here instead, up to
 * this bound, and a client slower than that loses the call, loudly, rather than its last messages. All such
 * clients together are held to the process's budget too (backlog-budget.ts).
 */
export const H2C_BACKLOG_BYTES = 16 * 1024 * 1024;

const uncork = (d: Downstream): void => d.uncorkNow();

export class Downstream implements Backlogged {
  private corked = false;
  /** An h2c answer's bytes waiting for its client, as last reported to the budget (see heldBack). */
  backlog = 0;
  /** Body bytes handed to the client's response (its access line's bytesOut, less `lost` if its client left). */
  written = 0;
  /** Bytes still in veer when its connection or stream broke or veer cut it (-1: none seen), body, head or framing. */
  lost = -1;
  /** Resumes the upstream once a slow client has drained; the exchange sets it per attempt. */
  resumeUpstream: (() => void) | null = null;
  /** Made the first time the client is slow (most responses never are). */
  private onDrain: (() => void) | null = null;
  /** An h2c answer's: its backlog back to 0 (drained, or closed), and whether its close is listened for. */
  private onSettle: (() => void) | null = null;
  private settling = false;
  /** The upstream waits for a slow client to drain (its body bound does not run meanwhile). */
  paused = false;
  /** performance.now() when the client last drained. */
  resumedAt = 0;
  /** performance.now() when the paused client last took bytes (its pause began, or a look found fewer waiting). */
  movedAt = 0;
  /** Bytes waiting for the paused client when last looked (see tookBytes). */
  private unread = 0;
  /** The client's HTTP/2 stream (no reason phrase, RFC 9113 §8.3.2; trailers announced before the head). */
  private readonly h2: H2Response | null;
  /** The upstream's answer was ended here (not cut by veer, not veer's own): its close says whether it was taken. */
  private ended = false;
  /** A Trailers-Only answer's status and headers, held until its end (see end()). */
  private held: { status: number; headers: string[] } | null = null;

  constructor(
    private readonly res: FrontResponse,
    private readonly viaEntry: string,
    /** Response headers the proxy adds (sticky Set-Cookie). */
    private readonly extraHeaders: string[] | null,
    /** The upstream is HTTP/2 (h2c): never ask it to pause (see H2C_BACKLOG_BYTES). */
    private readonly neverPause = false,
    /** What all never-paused answers may hold together (the process's; a test's own). */
    private readonly budget: BacklogBudget = processBacklog,
  ) {
    this.h2 = res instanceof H2Response ? res : null;
    // Only a gRPC service's answer ends in trailers (the exchange passes them on for those alone).
    if (this.h2 !== null && neverPause) this.h2.sendsTrailers = true;
  }

  private headersOf(rawHeaders: readonly RawField[]): string[] {
    const headers = downstreamResponseHeaders(rawHeaders, [], this.extraHeaders);
    headers.push('via', this.viaEntry);
    const extra = this.extraHeaders;
    if (extra !== null) for (let i = 0; i < extra.length; i++) headers.push(extra[i] as string);
    return headers;
  }

  /** A gRPC Trailers-Only answer: sent whole by end(), in one HEADERS frame with END_STREAM. */
  hold(statusCode: number, rawHeaders: readonly RawField[]): void {
    this.held = { status: statusCode, headers: this.headersOf(rawHeaders) };
  }

  /**
   * The upstream's answer is complete: its trailers (when `trailers` is given: h2c services only, so
   * HTTP/1.1 answers end as before) go to the client, and a held answer goes out whole. False when Node
   * refused a held header (nothing was sent).
   */
  end(trailers: unknown): boolean {
    this.ended = true;
    if (this.held !== null) {
      try {
        endWithHeaders(this.res, this.held.status, this.held.headers);
      } catch {
        return false;
      }
      return true;
    }
    const fields = trailerFields(trailers);
    try {
      if (fields !== null) this.res.addTrailers(fields);
    } catch {
      // A trailer Node refuses is dropped; the body the client already has stays whole.
    }
    this.res.end();
    return true;
  }

  /** False when Node refuses one of the upstream's headers (invalid characters): nothing was written. */
  writeHead(statusCode: number, statusText: string, rawHeaders: readonly RawField[]): boolean {
    const headers = this.headersOf(rawHeaders);
    try {
      if (this.h2 !== null) this.res.writeHead(statusCode, headers);
      else this.res.writeHead(statusCode, statusText, headers);
    } catch {
      return false;
    }
    return true;
  }

  /** False when the client is slow: the upstream should pause until resumeUpstream is called. */
  write(chunk: Buffer): boolean {
    // HTTP/2: cork until the end of this tick, so a small response's body and end() leave in one DATA
    // frame instead of two. HTTP/1.1 needs nothing: Node corks the socket at a response's first write
    // until the next tick itself, and a second cork cost a nextTick per request (found in the profile).
    if (this.h2 !== null && !this.corked) {
      this.corked = true;
      this.res.cork();
      process.nextTick(uncork, this);
    }
    this.written += chunk.length;
    const ok = this.res.write(chunk);
    if (ok) return true;
    if (this.neverPause) return this.heldBack();
    // Listen for 'drain' only when the client is actually slow, not on every request.
    if (this.onDrain === null) this.watchLoss();
    this.res.once('drain', (this.onDrain ??= () => this.drained()));
    [this.paused, this.movedAt, this.unread] = [true, performance.now(), this.res.writableLength];
    return false;
  }

  /**
   * The answer is written whole: whether its client still has some of it to take (its bound then runs from now,
   * as a pause's does). An answer that fit in the stream's buffer (64 KiB from Node 22 on) never paused, so a
   * client that took none of it held its stream and connection for good.
   */
  lingering(): boolean {
    if (this.paused || this.res.writableLength === 0 || this.over) return this.paused;
    // No loss watch: nearly every answer ends with bytes in its socket's buffer (a watch each cost 3% of req/s).
    [this.paused, this.movedAt, this.unread] = [true, performance.now(), this.res.writableLength];
    return true;
  }

  /** A client behind: what its connection or stream still held when it broke becomes `lost` (client-loss.ts). */
  private watchLoss(): void {
    onClientLoss(this.res, this.h2, () => this.noteLost());
  }

  private noteLost(): void {
    if (this.lost < 0) this.lost = this.res.writableLength;
  }

  /**
   * A look at a paused client (by the deadline sweep, only when its bound is up): bytes it took since the last look
   * move `movedAt` to `now`. Any progress counts, as with nginx's send_timeout: a slow link is not a stalled one.
   */
  tookBytes(now: number): void {
    const left = this.res.writableLength;
    if (left < this.unread) [this.unread, this.movedAt] = [left, now];
  }

  /**
   * Read at (or after) the answer's close: the upstream's answer was ended here, yet its client's connection or stream
   * closed while some of it still waited in veer (not handed whole to the kernel). False while the answer is open.
   */
  leftUntaken(): boolean {
    return this.ended && this.res.destroyed && !handedWhole(this.res, this.h2 !== null);
  }

  /** The answer is over for the client: none of it left in veer, or its connection or stream gone. */
  get over(): boolean {
    return answerOver(this.res, this.h2 !== null);
  }

  /**
   * An h2c answer's client is behind: its backlog is reported to the budget (from here until it drains or closes)
   * and it is cut past its own bound; past the budget, the largest backlog is. Cut like a client that left (the
   * exchange's close handler), never counted against the pool.
   */
  private heldBack(): true {
    const budget = this.budget;
    if (this.res.destroyed) return true; // cut already: its bytes are gone
    if (this.backlog === 0) {
      // Listened for only while behind: most answers never are.
      const settle = (this.onSettle ??= () => budget.report(this, 0));
      this.res.once('drain', settle);
      if (!this.settling) {
        this.settling = true;
        this.res.once('close', settle);
        this.watchLoss();
      }
    }
    const left = this.res.writableLength;
    budget.report(this, left);
    if (left > H2C_BACKLOG_BYTES) this.cut();
    else budget.enforce(this);
    return true;
  }

  private drained(): void {
    [this.paused, this.resumedAt] = [false, performance.now()];
    this.resumeUpstream?.();
  }

  /**
   * A client too slow (its backlog past H2C_BACKLOG_BYTES) or stalled (overdue's 'client'): cut like a client that
   * left. An HTTP/2 client's stream is reset with ENHANCE_YOUR_CALM (gRPC clients read RESOURCE_EXHAUSTED; a bare
   * destroy would reset it with NO_ERROR, an answer that looks complete); an HTTP/1.1 client's connection closes.
   */
  cut(): void {
    // Its bytes are dropped with the stream or connection now: no longer anyone's backlog, never its client's.
    if (this.backlog > 0) this.budget.report(this, 0);
    this.noteLost();
    if (this.h2 === null) return void this.res.destroy();
    this.h2.reset(constants.NGHTTP2_ENHANCE_YOUR_CALM);
  }

  /** @internal */
  uncorkNow(): void {
    this.corked = false;
    this.res.uncork();
  }
}

/** Whether an answer is over for its client: none of it left in veer, or its connection or stream gone. */
export function answerOver(res: FrontResponse, h2: boolean): boolean {
  if (res.destroyed) return true;
  // An HTTP/2 answer is finished once ended (H2Response): its last bytes may still wait for the client's window.
  return res.writableFinished && (!h2 || res.writableLength === 0);
}

/**
 * Whether a closed answer was handed whole to its connection. veer's own fronts say so only when it was (a client's
 * reset before an HTTP/2 stream's last bytes went is not). node:http's ServerResponse also says finished for one its
 * connection's close ended: a socket destroyed under a write in flight calls that write done, so 'finish' comes;
 * yet an answer given whole closes a tick after its 'finish', its socket still open (a client cannot close it in
 * between: its FIN or reset is read in a later turn, and a `Connection: close` socket ends asynchronously).
 */
export function handedWhole(res: FrontResponse, h2: boolean): boolean {
  if (!res.writableFinished) return false;
  if (h2) return res.writableLength === 0;
  return (res.req as { socket?: { destroyed?: boolean } } | undefined)?.socket?.destroyed !== true;
}
