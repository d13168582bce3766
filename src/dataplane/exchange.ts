// One client request forwarded upstream: a dispatch handler (undici's raw handler API, the fastest measured, which
// veer's client speaks too). It owns its attempts (retry.ts: whether there is another; target-wait.ts: no target yet).
// Only what the upstream did reaches the pool's window and the target's outlier state: a request refused before it is
// sent, a client that leaves or sends its body too slowly or too much, and veer's drain cutting a target are not.
import type { FrontRequest, FrontResponse } from './front.js';
import type { Dispatcher } from 'undici';
import { noteFailure, noteSuccess } from './balancer.js';
import { Downstream } from './downstream.js';
import { DiscardedAnswer } from './discarded-answer.js';
import { pickIn } from './pool-choice.js';
import { ClientBodyError, RequestBody, type BodyFault } from './request-body.js';
import { BODY_FAULT_ANSWER, classify, FAILURE_ANSWER, isIdempotent, isRequestRefusal, isTargetGone } from './fault.js';
import { sendProxyError, type AccessEntry, type ProxyErrorCode } from './responses.js';
import { attemptIn, canRetryOnStable, retryOf, stableRetry, type Attempt } from './retry.js';
import type { ExchangeEnv } from './exchange-env.js';
import type { PoolRuntime, ServiceRoute } from './table.js';
import { TargetWait, type WaitingRequest } from './target-wait.js';
import type { Upstream } from './upstream.js';
import { upstreamRequest } from './upstream-request.js';
import { onClose, type CloseParty } from './ledger.js';
import type { RawField } from './headers.js';
import { idleBound, type GrpcCall } from './grpc-call.js';
import { TimedAttempt } from './timed-attempt.js';
import type { DeadlineSweep } from './upstream-deadlines.js';

export class Exchange extends TimedAttempt implements Dispatcher.DispatchHandler, WaitingRequest, CloseParty {
  target: Upstream | undefined;
  attempt = 0;
  private status = 0;
  latencyMs = 0;
  clientGone = false;
  done = false;
  private discarded: DiscardedAnswer | null = null; // a canary's 5xx swallowed to ask stable instead
  private dispatching = false;
  private wait: TargetWait | null = null; // its wait for a target, once it had to (most never do)
  private readonly replayable: boolean;
  forced = false; // its pool was asked for (override, targeting): a canary's 5xx is its answer, stable's never
  readonly body: RequestBody | null;
  readonly down: Downstream;

  constructor(
    private readonly env: ExchangeEnv,
    private readonly req: FrontRequest,
    private readonly res: FrontResponse,
    private route: ServiceRoute,
    public pool: PoolRuntime,
    private readonly upstreamHeaders: string[],
    hasBody: boolean,
    /** Response headers the proxy adds (sticky Set-Cookie). */
    extraHeaders: string[] | null,
    private readonly group: number, // the judged windows its outcome goes to (table.ts: judgedGroup)
    private readonly client: number, // its sticky bucket (the judge's per-client bound), or NO_CLIENT
    private readonly grpc: GrpcCall | null, // a gRPC call to an h2c service (its status is judged)
    private readonly entry: AccessEntry | null = null, // its id and access line (read as ExchangeFacts)
  ) {
    super();
    this.replayable = !hasBody && isIdempotent(req.method);
    this.body = hasBody ? new RequestBody(req, idleBound(route.timeouts.body, grpc), route.maxRequestBody, this) : null;
    this.down = new Downstream(res, env.viaEntry, extraHeaders, route.grpc !== null);
    if (entry === null) onClose(res, this);
    else entry.exchange = this; // which tells it of the response's close (one listener: ledger.ts)
  }

  start(): void {
    const pick = pickIn(this.route, this.pool, this.env.clock.now(), this.env.random);
    if (pick.pool === null) return this.waitOr(pick.why);
    this.resume(this.route, pick.pool, pick.target);
  }

  /** No target to send to: wait for one (bounded), else answer `code` now. */
  private waitOr(code: ProxyErrorCode): void {
    (this.wait ??= new TargetWait(this.env, this)).hold(this.route, this.pool.name, code);
  }

  /** The next attempt: a retry, or a target that turned up while the request waited (TargetWait). */
  resume(route: ServiceRoute, pool: PoolRuntime, target: Upstream): void {
    this.route = route;
    if (this.target !== undefined) this.attempt++;
    this.pool = pool;
    this.dispatchTo(target);
  }

  /** Answered, or its client gone: a waiting request stops waiting. */
  get over(): boolean {
    return this.done || this.clientGone;
  }

  /** Its wait ended without a target (TargetWait calls this). */
  giveUp(code: ProxyErrorCode): void {
    if (this.over) return;
    this.body?.destroy();
    this.finishWithError(code);
  }

  private dispatchTo(target: Upstream): void {
    this.target = target;
    target.outstanding++;
    this.sending();
    this.dispatching = true;
    target.pool.dispatch(upstreamRequest(this.req, this.upstreamHeaders, this.body), this);
    this.dispatching = false;
    this.dispatched();
  }

  onHeaders(statusCode: number, rawHeaders: RawField[], resume: () => void, statusText: string): boolean {
    if (this.done) {
      this.abortUpstream?.();
      return false;
    }
    if (statusCode < 200) return true; // 1xx informational: Node answers 100-continue itself
    this.gotHeaders = true;
    const now = performance.now();
    this.bodyMoved(now);
    this.status = statusCode;
    this.latencyMs = now - this.handedAt;
    this.down.resumeUpstream = resume;
    if (statusCode >= 500 && canRetryOnStable(this.attemptNow(), this.env.clock.now())) {
      // The canary failed an idempotent request: ask stable instead (still counted against the canary).
      this.discarded = new DiscardedAnswer(statusCode, statusText, rawHeaders);
      return true;
    }
    if (this.grpc?.trailersOnly(rawHeaders)) {
      this.down.hold(statusCode, rawHeaders);
      return true;
    }
    if (this.down.writeHead(statusCode, statusText, rawHeaders)) return true;
    // An upstream header Node refuses to send: answer 502 instead.
    this.abortUpstream?.();
    return false;
  }

  onData(chunk: Buffer): boolean {
    this.bodyMoved();
    return this.discarded?.keep(chunk) ?? this.down.write(chunk);
  }

  protected bound(which: 'header' | 'body'): number {
    return idleBound(this.route.timeouts[which], this.grpc);
  }

  protected sweep(): DeadlineSweep {
    return this.env.deadlines;
  }

  onComplete(trailers: unknown): void {
    this.settle();
    if (this.done) return;
    this.grpc?.ended(trailers);
    const status = this.grpc === null ? this.status : this.grpc.judged(this.status);
    this.pool.window.record(this.env.clock.now(), status, this.latencyMs, this.group, this.client);
    if (status >= 500) this.noteTargetFailure();
    else noteSuccess(this.target as Upstream);
    const held = this.discarded;
    this.discarded = null;
    if (held !== null && this.clientGone) return;
    const a = held === null ? null : this.attemptNow();
    const retry = a === null ? null : stableRetry(a, this.env.clock.now(), this.env.random);
    if (retry !== null) return this.resume(retry.route, retry.pool, retry.target);
    // Answered (a Trailers-Only answer on the HTTP/2 stream itself too): its close is no client leaving. A swallowed
    // answer with nowhere left to ask (no other stable target now, or no route) is sent after all.
    this.done = held === null ? this.down.end(this.route.grpc === null ? null : trailers) : held.send(this.down);
    if (this.done) this.watchSlowClient();
    else this.finishWithError('bad_gateway');
  }

  onError(err: Error): void {
    const refusedNow = this.dispatching;
    this.settle();
    this.discarded = null;
    const code = (err as Error & { code?: string }).code ?? '';
    if (this.done) return; // veer already answered (a client fault)
    if (err instanceof ClientBodyError || this.body?.fault) return; // handled by onFault
    if (this.clientGone || this.res.destroyed) return; // the client left: nothing to record
    if (refusedNow && isTargetGone(code)) return this.waitOr('no_targets'); // nothing sent, nothing counted
    if (refusedNow || (!this.gotHeaders && isRequestRefusal(code))) return this.finishWithError('bad_request');
    const target = this.target as Upstream;
    if (target.cut) {
      this.pool.window.recordDrainCut();
      return this.res.headersSent ? this.truncate() : this.finishWithError('drain_timeout');
    }
    const kind = classify(code, this.gotHeaders);
    // A container that refuses connections is out until it answers again (readiness.ts).
    const refused = kind === 'connect' && this.env.refused(target, code || err.message);
    // The upstream waited for body bytes the client did not send: the client was too slow.
    if (kind === 'timeout' && this.body !== null && !this.body.complete && !this.gotHeaders)
      return this.onFault('body_timeout');
    const latencyMs = performance.now() - this.handedAt;
    this.pool.window.recordFailure(this.env.clock.now(), kind, latencyMs, this.group, this.client);
    this.noteTargetFailure();
    // Mid-body failure: truncating is the only honest signal left to the client.
    if (this.res.headersSent) return this.truncate();
    const { retryConnectErrors, clock, random } = this.env;
    const a = this.attemptNow(); // null: its service left routing, so no retry
    const retry = a === null ? null : retryOf(a, kind, retryConnectErrors, clock.now(), random, refused);
    if (retry === 'wait') return this.waitOr(FAILURE_ANSWER[kind]);
    if (retry !== null) return this.resume(retry.route, retry.pool, retry.target);
    this.finishWithError(FAILURE_ANSWER[kind]);
  }

  /** The client left, stalled or sent too much (from the RequestBody, or a stall seen upstream). Never counted. */
  onFault(fault: BodyFault): void {
    // A client already gone was counted once, by the close (which may come before the body's own word).
    if (this.over) return;
    this.abortUpstream?.(new ClientBodyError(fault));
    this.wait?.cancel();
    if (fault === 'client_closed') {
      [this.clientGone, this.done] = [true, true];
      return this.env.answers.note('client_closed');
    }
    this.finishWithError(BODY_FAULT_ANSWER[fault]);
  }

  private truncate(): void {
    this.done = true;
    this.res.destroy();
  }

  private attemptNow(): Attempt | null {
    const { route, pool, target, attempt, replayable } = this;
    const retryCanaryOnStable = route.retryCanaryOnStable && !this.forced; // the policy it was sent under
    return attemptIn(this.env.table(), { route, pool, target, attempt, replayable, retryCanaryOnStable });
  }

  private settle(): void {
    if (this.target !== undefined) this.target.outstanding--;
    this.released();
    this.down.resumeUpstream = null;
  }

  private noteTargetFailure(): void {
    if (this.entry?.id) this.pool.window.failed.note(this.entry.id);
    const a = this.attemptNow(); // the pool of now, whose last eligible target is never ejected
    if (a?.target !== undefined) noteFailure(a.target, a.pool.targets, a.route.outlier, this.env.clock.now());
  }

  private finishWithError(code: ProxyErrorCode): void {
    this.done = true;
    this.env.answers.note(code);
    sendProxyError(this.res, code, undefined, this.route.pages, this.entry);
  }

  /** Client aborts are 'close' + !writableFinished ('aborted' misses cases, say undici's authors). */
  responseClosed(): void {
    if (this.res.writableFinished || this.over) return;
    this.clientGone = true;
    this.env.answers.note('client_closed');
    this.wait?.cancel();
    this.abortUpstream?.(); // stop the upstream request so its socket is not leaked
  }
}
