// One client request forwarded upstream: an undici dispatch handler (the raw handler API is the
// fastest Node path measured here; stream.pipeline() halved throughput). It owns at most two
// attempts: a connect failure on an idempotent request without a body is retried once on
// another target, and with retryCanaryOnStable a canary failure is retried once on stable.
//
// Who is at fault decides what is counted. Only what the upstream did reaches the pool's window and
// the target's outlier state: a request undici refuses before sending it, a client that leaves or
// sends its body too slowly or too much, and a target cut by veer's own drain are answered (or
// dropped) without touching them.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Clock, Random } from '../domain/clock.js';
import type { AnswerCounts } from './answers.js';
import { hasEligible, noteFailure, noteSuccess } from './balancer.js';
import { downstreamResponseHeaders } from './headers.js';
import { pickIn } from './pool-choice.js';
import { ClientBodyError, RequestBody, type BodyFault } from './request-body.js';
import { BODY_FAULT_ANSWER, classify, isIdempotent, isRequestRefusal, type FailureKind } from './fault.js';
import { sendProxyError, type ProxyErrorCode } from './responses.js';
import type { PoolRuntime, ServiceRoute } from './table.js';
import type { Upstream } from './upstream.js';

export interface ExchangeEnv {
  readonly clock: Clock;
  readonly random: Random;
  readonly retryConnectErrors: boolean;
  readonly viaEntry: string;
  readonly answers: AnswerCounts;
}

function uncork(x: Exchange): void {
  x.uncorkNow();
}

export class Exchange implements Dispatcher.DispatchHandler {
  private pool: PoolRuntime;
  private target: Upstream | undefined;
  private attempt = 0;
  /** When the request was last handed to the upstream (dispatch, each body chunk, fully sent). */
  private handedAt = 0;
  private status = 0;
  private latencyMs = 0;
  private gotHeaders = false;
  private clientGone = false;
  private done = false;
  private corked = false;
  private discarding = false;
  private dispatching = false;
  private abortUpstream: ((err?: Error) => void) | null = null;
  private resumeUpstream: (() => void) | null = null;
  private readonly retryable: boolean;
  private readonly body: RequestBody | null;

  constructor(
    private readonly env: ExchangeEnv,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly route: ServiceRoute,
    pool: PoolRuntime,
    private readonly upstreamHeaders: string[],
    hasBody: boolean,
    /** Response headers the proxy adds (sticky Set-Cookie). */
    private readonly extraHeaders: string[] | null,
  ) {
    this.pool = pool;
    this.retryable = !hasBody && isIdempotent(req.method);
    this.body = hasBody ? new RequestBody(req, route.timeouts.body, route.maxRequestBody, this) : null;
    res.on('close', this.onClientClose);
  }

  start(): void {
    const pick = pickIn(this.route, this.pool, this.env.clock.now(), this.env.random);
    if (pick.pool === null) {
      this.body?.destroy();
      this.finishWithError(pick.why);
      return;
    }
    this.pool = pick.pool;
    this.dispatchTo(pick.target);
  }

  private dispatchTo(target: Upstream): void {
    this.target = target;
    target.outstanding++;
    this.gotHeaders = false;
    this.handedAt = performance.now();
    this.dispatching = true;
    target.pool.dispatch(
      {
        origin: undefined,
        path: this.req.url ?? '/',
        method: (this.req.method ?? 'GET') as Dispatcher.HttpMethod,
        headers: this.upstreamHeaders,
        body: this.body,
        headersTimeout: this.route.timeouts.header,
        bodyTimeout: this.route.timeouts.body,
      },
      this,
    );
    this.dispatching = false;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.clientGone || this.done) abort();
  }

  onBodySent(): void {
    this.handedAt = performance.now();
  }

  onRequestSent(): void {
    // A pool's latency is the upstream's own time: from the last byte handed over to its headers.
    this.handedAt = performance.now();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (this.done) {
      this.abortUpstream?.();
      return false;
    }
    if (statusCode < 200) return true; // 1xx informational: Node answers 100-continue itself
    this.gotHeaders = true;
    this.status = statusCode;
    this.latencyMs = performance.now() - this.handedAt;
    this.resumeUpstream = resume;
    if (statusCode >= 500 && this.canRetryOnStable()) {
      // The canary failed an idempotent request: swallow this answer and ask stable instead. The
      // failure is still recorded against the canary in onComplete.
      this.discarding = true;
      return true;
    }
    const headers = downstreamResponseHeaders(rawHeaders, []);
    headers.push('via', this.env.viaEntry);
    if (this.extraHeaders !== null) headers.push(...this.extraHeaders);
    try {
      this.res.writeHead(statusCode, statusText, headers);
    } catch {
      // An upstream header Node refuses to send (invalid characters): answer 502 instead.
      this.abortUpstream?.();
      return false;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.discarding) return true;
    // Cork until the end of this tick: a small response's body and end() then leave in one write
    // instead of two, and a streamed response is held back by one tick at most.
    if (!this.corked) {
      this.corked = true;
      this.res.cork();
      process.nextTick(uncork, this);
    }
    const ok = this.res.write(chunk);
    // Listen for 'drain' only when the client is actually slow, not on every request.
    if (!ok) this.res.once('drain', this.onClientDrain);
    return ok;
  }

  /** @internal */
  uncorkNow(): void {
    this.corked = false;
    this.res.uncork();
  }

  onComplete(): void {
    this.settle();
    if (this.done) return;
    const failed = this.status >= 500;
    this.pool.window.record(this.env.clock.now(), this.status, this.latencyMs);
    if (failed) this.noteTargetFailure();
    else noteSuccess(this.target as Upstream);
    if (this.discarding) {
      this.discarding = false;
      if (this.clientGone) return;
      const pick = pickIn(this.route, this.route.stable, this.env.clock.now(), this.env.random);
      // Stable lost its last eligible target meanwhile: the canary's answer is gone, so say 502.
      if (pick.pool !== this.route.stable) return this.finishWithError('bad_gateway');
      this.attempt++;
      this.pool = pick.pool;
      this.dispatchTo(pick.target);
      return;
    }
    this.res.end();
  }

  private canRetryOnStable(): boolean {
    return (
      this.attempt === 0 &&
      this.retryable &&
      this.route.retryCanaryOnStable &&
      this.pool.name === 'canary' &&
      hasEligible(this.route.stable.targets, this.env.clock.now())
    );
  }

  onError(err: Error): void {
    const refusedNow = this.dispatching;
    this.settle();
    this.discarding = false;
    const code = (err as Error & { code?: string }).code ?? '';
    if (this.done) return; // veer already answered (a client fault)
    if (err instanceof ClientBodyError || this.body?.fault) return; // handled by onFault
    if (this.clientGone || this.res.destroyed) return; // the client left: nothing to record
    if (refusedNow || (!this.gotHeaders && isRequestRefusal(code))) return this.finishWithError('bad_request');
    const target = this.target as Upstream;
    if (target.cut) return this.drainCut();
    const kind = classify(code, this.gotHeaders);
    // The upstream waited for body bytes the client did not send: the client was too slow.
    if (kind === 'timeout' && this.body !== null && !this.body.complete && !this.gotHeaders)
      return this.onFault('body_timeout');
    this.pool.window.recordFailure(
      this.env.clock.now(),
      kind === 'timeout' ? 'timeout' : 'connect',
      performance.now() - this.handedAt,
    );
    this.noteTargetFailure();
    if (!this.res.headersSent && this.retry(kind)) return;
    if (this.res.headersSent) {
      // Mid-body failure: truncating is the only honest signal left to the client.
      this.res.destroy();
      return;
    }
    this.finishWithError(
      kind === 'timeout' ? 'upstream_timeout' : kind === 'connect' ? 'upstream_unreachable' : 'bad_gateway',
    );
  }

  /** The client left, stalled or sent too much (from the RequestBody, or a stall seen upstream). Never counted. */
  onFault(fault: BodyFault): void {
    if (this.done) return;
    this.abortUpstream?.(new ClientBodyError(fault));
    if (fault === 'client_closed') {
      this.clientGone = true;
      this.done = true;
      this.env.answers.note('client_closed');
      return;
    }
    this.finishWithError(BODY_FAULT_ANSWER[fault]);
  }

  private drainCut(): void {
    this.pool.window.recordDrainCut();
    if (this.res.headersSent) {
      this.done = true;
      this.res.destroy();
      return;
    }
    this.finishWithError('drain_timeout');
  }

  private retry(kind: FailureKind): boolean {
    if (this.attempt > 0 || !this.retryable) return false;
    const toStable = this.canRetryOnStable();
    if (!toStable && !(kind === 'connect' && this.env.retryConnectErrors)) return false;
    const from = toStable ? this.route.stable : this.pool;
    const pick = pickIn(this.route, from, this.env.clock.now(), this.env.random, this.target);
    if (pick.pool === null || (toStable && pick.pool !== from)) return false;
    this.attempt++;
    this.pool = pick.pool;
    this.dispatchTo(pick.target);
    return true;
  }

  private settle(): void {
    if (this.target !== undefined) this.target.outstanding--;
    this.abortUpstream = null;
    this.resumeUpstream = null;
  }

  private noteTargetFailure(): void {
    const t = this.target as Upstream;
    noteFailure(t, this.pool.targets, this.route.outlier, this.env.clock.now());
  }

  private finishWithError(code: ProxyErrorCode): void {
    this.done = true;
    this.env.answers.note(code);
    sendProxyError(this.res, code);
  }

  private readonly onClientDrain = (): void => {
    this.resumeUpstream?.();
  };

  private readonly onClientClose = (): void => {
    if (this.res.writableFinished || this.done) return;
    // Detect client aborts with 'close' + writableFinished (not 'aborted', which undici's authors
    // warn misses cases) and stop the upstream request so its socket is not leaked.
    this.clientGone = true;
    this.env.answers.note('client_closed');
    this.abortUpstream?.();
  };
}
