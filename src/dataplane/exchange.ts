// One client request forwarded upstream: an undici dispatch handler (the raw handler API is the
// fastest Node path measured here; stream.pipeline() halved throughput). It owns at most two
// attempts: a connect failure on an idempotent request without a body is retried once on
// another target, and with retryCanaryOnStable a canary failure is retried once on stable.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Clock, Random } from '../domain/clock.js';
import { noteFailure, noteSuccess, pickTarget } from './balancer.js';
import { downstreamResponseHeaders } from './headers.js';
import { sendProxyError, type ProxyErrorCode } from './responses.js';
import type { PoolRuntime, ServiceRoute } from './table.js';
import type { Upstream } from './upstream.js';

export interface ExchangeEnv {
  readonly clock: Clock;
  readonly random: Random;
  readonly headersTimeout: number;
  readonly bodyTimeout: number;
  readonly retryConnectErrors: boolean;
  readonly viaEntry: string;
}

type FailureKind = 'connect' | 'timeout' | 'broken';

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

function classify(err: Error & { code?: string }, gotHeaders: boolean): FailureKind {
  const code = err.code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout';
  if (!gotHeaders && CONNECT_CODES.has(code)) return 'connect';
  return 'broken';
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

// undici refusing the request itself (a duplicate Host header, say): the client's fault, never the
// target's, so it must not count towards ejection or the pool's error rate.
const REQUEST_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED']);

function uncork(x: Exchange): void {
  x.uncorkNow();
}

export class Exchange implements Dispatcher.DispatchHandler {
  private pool: PoolRuntime;
  private target: Upstream | undefined;
  private attempt = 0;
  private startedAt = 0;
  private status = 0;
  private latencyMs = 0;
  private gotHeaders = false;
  private clientGone = false;
  private done = false;
  private corked = false;
  private discarding = false;
  private abortUpstream: ((err?: Error) => void) | null = null;
  private resumeUpstream: (() => void) | null = null;
  private readonly retryable: boolean;

  constructor(
    private readonly env: ExchangeEnv,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly route: ServiceRoute,
    pool: PoolRuntime,
    private readonly upstreamHeaders: string[],
    private readonly hasBody: boolean,
    /** Response headers the proxy adds (sticky Set-Cookie). */
    private readonly extraHeaders: string[] | null,
  ) {
    this.pool = pool;
    this.retryable = !hasBody && IDEMPOTENT.has(req.method ?? '');
    res.on('close', this.onClientClose);
  }

  start(exclude?: Upstream): void {
    const target = pickTarget(this.pool.targets, this.env.clock.now(), this.env.random, exclude);
    if (target === undefined) {
      this.finishWithError('no_targets');
      return;
    }
    this.target = target;
    target.outstanding++;
    this.gotHeaders = false;
    this.startedAt = performance.now();
    target.pool.dispatch(
      {
        origin: undefined,
        path: this.req.url ?? '/',
        method: (this.req.method ?? 'GET') as Dispatcher.HttpMethod,
        headers: this.upstreamHeaders,
        body: this.hasBody ? this.req : null,
        headersTimeout: this.env.headersTimeout,
        bodyTimeout: this.env.bodyTimeout,
      },
      this,
    );
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.clientGone) abort();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true; // 1xx informational: Node answers 100-continue itself
    this.gotHeaders = true;
    this.status = statusCode;
    this.latencyMs = performance.now() - this.startedAt;
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
    const failed = this.status >= 500;
    this.record(this.status, false);
    if (failed) this.noteTargetFailure();
    else noteSuccess(this.target as Upstream);
    if (this.discarding) {
      this.discarding = false;
      if (this.clientGone) return;
      this.attempt++;
      this.pool = this.route.stable;
      this.start();
      return;
    }
    this.res.end();
  }

  private canRetryOnStable(): boolean {
    return this.attempt === 0 && this.retryable && this.route.retryCanaryOnStable && this.pool.name === 'canary' && this.route.stable.targets.length > 0;
  }

  onError(err: Error): void {
    this.settle();
    this.discarding = false;
    if (this.clientGone) return; // the client left: not the upstream's fault, nothing to record
    if (!this.gotHeaders && REQUEST_CODES.has((err as Error & { code?: string }).code ?? '')) return this.finishWithError('bad_request');
    const kind = classify(err, this.gotHeaders);
    this.record(0, true, kind);
    this.noteTargetFailure();
    if (!this.res.headersSent && this.retry(kind)) return;
    if (this.res.headersSent) {
      // Mid-body failure: truncating is the only honest signal left to the client.
      this.res.destroy();
      return;
    }
    this.finishWithError(kind === 'timeout' ? 'upstream_timeout' : kind === 'connect' ? 'upstream_unreachable' : 'bad_gateway');
  }

  private retry(kind: FailureKind): boolean {
    if (this.attempt > 0 || !this.retryable) return false;
    const toStable = this.canRetryOnStable();
    if (!toStable && !(kind === 'connect' && this.env.retryConnectErrors)) return false;
    this.attempt++;
    const failed = this.target;
    if (toStable) this.pool = this.route.stable;
    this.start(toStable ? undefined : failed);
    return true;
  }

  private settle(): void {
    if (this.target !== undefined) this.target.outstanding--;
    this.abortUpstream = null;
    this.resumeUpstream = null;
  }

  private record(status: number, failed: boolean, kind?: FailureKind): void {
    const now = this.env.clock.now();
    if (!failed) this.pool.window.record(now, status, this.latencyMs);
    else this.pool.window.recordFailure(now, kind === 'timeout' ? 'timeout' : 'connect', performance.now() - this.startedAt);
  }

  private noteTargetFailure(): void {
    const t = this.target as Upstream;
    noteFailure(t, this.pool.targets, this.route.outlier, this.env.clock.now());
  }

  private finishWithError(code: ProxyErrorCode): void {
    this.done = true;
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
    this.abortUpstream?.();
  };
}
