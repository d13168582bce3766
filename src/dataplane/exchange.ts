// One client request forwarded upstream: a dispatch handler (undici's raw handler API, the fastest measured, which
// veer's client speaks too). It owns its attempts (retry.ts: whether there is another; target-wait.ts: no target yet).
// Only what the upstream did reaches the pool's window and the target's outlier state: a request refused before it is
// sent, a client that leaves or sends its body too slowly or too much (client-end.ts), and veer's drain cutting a
// target are not.
import type { FrontRequest, FrontResponse } from './front.js';
import type { Dispatcher } from 'undici';
import { noteFailure, noteSuccess } from './balancer.js';
import { Downstream } from './downstream.js';
import { DiscardCut, DiscardedAnswer } from './discarded-answer.js';
import { pickIn } from './pool-choice.js';
import { ClientBodyError, RequestBody } from './request-body.js';
import { FAILURE_ANSWER, failureStep, isIdempotent } from './fault.js';
import type { FailureKind } from '../domain/upstream-failure.js';
import type { AccessEntry, ProxyErrorCode } from './responses.js';
import { attemptIn, canRetryOnStable, retryOf, stableRetry, type Attempt } from './retry.js';
import type { ExchangeEnv } from './exchange-env.js';
import type { PoolRuntime, ServiceRoute } from './table.js';
import { TargetWait, type WaitingRequest } from './target-wait.js';
import type { Upstream } from './upstream.js';
import { upstreamRequest } from './upstream-request.js';
import { onClose, type CloseParty } from './ledger.js';
import type { RawField } from './headers.js';
import { idleBound, type GrpcCall } from './grpc-call.js';
import { ClientEnd } from './client-end.js';
import type { DeadlineSweep } from './upstream-deadlines.js';

export class Exchange extends ClientEnd implements Dispatcher.DispatchHandler, WaitingRequest, CloseParty {
  target: Upstream | undefined;
  attempt = 0;
  private status = 0;
  latencyMs = 0;
  private discarded: DiscardedAnswer | null = null; // a canary's 5xx swallowed to ask stable instead
  private dispatching = false;
  private readonly replayable: boolean;
  forced = false; // its pool was asked for (override, targeting): a canary's 5xx is its answer, stable's never
  readonly body: RequestBody | null;
  readonly down: Downstream;

  constructor(
    protected readonly env: ExchangeEnv,
    private readonly req: FrontRequest,
    protected readonly res: FrontResponse,
    protected route: ServiceRoute,
    public pool: PoolRuntime,
    private readonly upstreamHeaders: string[],
    hasBody: boolean,
    /** Response headers the proxy adds (sticky Set-Cookie). */
    extraHeaders: string[] | null,
    private readonly group: number, // the judged windows its outcome goes to (table.ts: judgedGroup)
    private readonly client: number, // its sticky bucket (the judge's per-client bound), or NO_CLIENT
    private readonly grpc: GrpcCall | null, // a gRPC call to an h2c service (its status is judged)
    protected readonly entry: AccessEntry | null = null, // its id and access line (read as ExchangeFacts)
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
    const held = this.discarded;
    if (held === null) return this.down.write(chunk);
    if (held.keep(chunk)) return true;
    this.abortUpstream?.(new DiscardCut()); // past the cap: ask stable now (onError), not at the page's end
    return false;
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
    this.recordAnswer(this.grpc === null ? this.status : this.grpc.judged(this.status));
    this.answer(trailers);
  }

  /** The upstream's answer as its pool's window and its target's outlier state count it. */
  private recordAnswer(status: number): void {
    this.pool.window.record(this.env.clock.now(), status, this.latencyMs, this.group, this.client);
    if (status >= 500) this.noteTargetFailure();
    else noteSuccess(this.target as Upstream);
  }

  /**
   * The upstream's answer is over: sent on, unless it is a canary's swallowed 5xx (read to its end, or cut past
   * the cap: onError), which asks stable. With nowhere left to ask (no other stable target now, or no route),
   * the swallowed answer is sent after all (veer's 502 when it was cut).
   */
  private answer(trailers: unknown): void {
    const held = this.discarded;
    this.discarded = null;
    if (held !== null && this.clientGone) return;
    const a = held === null ? null : this.attemptNow();
    const retry = a === null ? null : stableRetry(a, this.env.clock.now(), this.env.random);
    if (retry !== null) return this.resume(retry.route, retry.pool, retry.target);
    // Answered (a Trailers-Only answer on the HTTP/2 stream itself too): its close is no client leaving.
    this.done = held === null ? this.down.end(this.route.grpc === null ? null : trailers) : held.send(this.down);
    if (this.done) this.watchSlowClient();
    else this.finishWithError('bad_gateway');
  }

  onError(err: Error): void {
    const refusedNow = this.dispatching;
    this.settle();
    if (this.done) return; // veer already answered (a client fault)
    if (err instanceof DiscardCut) {
      this.recordAnswer(this.status); // the canary's 5xx, as if read to its end
      return this.answer(null);
    }
    this.discarded = null;
    const code = (err as Error & { code?: string }).code ?? '';
    const target = this.target as Upstream;
    const clientsDoing = err instanceof ClientBodyError || !!this.body?.fault || this.clientGone || this.res.destroyed;
    const bodyIncomplete = this.body !== null && !this.body.complete;
    const { gotHeaders } = this;
    const next = failureStep({ code, clientsDoing, refusedNow, gotHeaders, targetCut: target.cut, bodyIncomplete });
    switch (next.step) {
      case 'ignore':
        return;
      case 'wait':
        return this.waitOr('no_targets'); // nothing sent, nothing counted
      case 'bad_request':
        return this.finishWithError('bad_request');
      case 'drain_cut':
        this.pool.window.recordDrainCut();
        return this.res.headersSent ? this.truncate() : this.finishWithError('drain_timeout');
      case 'body_timeout':
        return this.onFault('body_timeout');
      case 'counted':
        return this.failed(next.kind, code || err.message);
    }
  }

  /** The pool's failure: counted, then retried, waited on or answered. `why`: the error's code or message. */
  private failed(kind: FailureKind, why: string): void {
    // A container that refuses connections is out until it answers again (readiness.ts).
    const refused = kind === 'connect' && this.env.refused(this.target as Upstream, why);
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
}
