// How an exchange ends for its client, apart from the upstream's answer passed on: veer's own error answer,
// an answer cut short, or the client leaving, stalling or sending too much. None of these is the pool's
// doing, so none reaches its window here (exchange.ts counts what the upstream did). Every end is told once:
// a client already gone was counted by its close, which may come before its body's own word.
import type { FrontResponse } from './front.js';
import type { ExchangeEnv } from './exchange-env.js';
import { BODY_FAULT_ANSWER } from './fault.js';
import { ClientBodyError, type BodyFault } from './request-body.js';
import { sendProxyError, type AccessEntry, type ProxyErrorCode } from './responses.js';
import type { ServiceRoute } from './table.js';
import type { TargetWait } from './target-wait.js';
import { TimedAttempt } from './timed-attempt.js';

export abstract class ClientEnd extends TimedAttempt {
  /** Its client left or was cut, as counted (once) in veer's answers. */
  private left = false;
  done = false;
  protected wait: TargetWait | null = null; // its wait for a target, once it had to (most never do)
  protected abstract readonly env: ExchangeEnv;
  protected abstract readonly res: FrontResponse;
  protected abstract route: ServiceRoute;
  protected abstract readonly entry: AccessEntry | null;

  /**
   * Its client left: before the answer was whole, cut for not reading, or (known once the answer closed) gone while
   * some of an answer the upstream had finished still waited in veer. The access line reads it before the exchange
   * hears of the close (AccessEntry), so that last case is read from the answer itself.
   */
  get clientGone(): boolean {
    return this.left || (this.done && this.down.leftUntaken());
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

  /** The client left, stalled or sent too much (from the RequestBody, or a stall seen upstream). Never counted. */
  onFault(fault: BodyFault): void {
    if (this.over) return;
    this.abortUpstream?.(new ClientBodyError(fault));
    this.wait?.cancel();
    if (fault === 'client_closed') {
      [this.left, this.done] = [true, true];
      return this.env.answers.note('client_closed');
    }
    this.finishWithError(BODY_FAULT_ANSWER[fault]);
  }

  /** Client aborts are 'close' + !writableFinished ('aborted' misses cases, say undici's authors). */
  responseClosed(): void {
    // An answer given whole is watched while its client may still have bytes of it to take (watchSlowClient):
    // its close ends that. Most are watched a tick only (bytes corked until then), none for the whole bound.
    if (this.done) return this.answerClosed();
    if (this.res.writableFinished || this.left) return;
    this.left = true;
    this.env.answers.note('client_closed');
    this.wait?.cancel();
    this.abortUpstream?.(); // stop the upstream request so its socket is not leaked
  }

  /**
   * Cut for taking none of its answer for the bound: a client that left, counted once, whether the upstream was still
   * sending (as its close would be told) or had finished and veer held the rest. The close of an answer given whole
   * counts nothing, and its socket may call the last write done as it is destroyed (node:http then says finished).
   */
  protected clientCut(): void {
    if (!this.done) return this.responseClosed();
    if (this.left) return;
    this.left = true; // before the close: its access line reads it (access-line.ts outcome)
    this.env.answers.note('client_closed');
  }

  /**
   * The close of an answer veer gave (or cut): a client that closed its connection or stream while some of the
   * upstream's finished answer still waited in veer left, and is counted as one that leaves while the upstream
   * sends (an answer handed whole to the kernel is whole: what the client did with it is not veer's to see).
   */
  private answerClosed(): void {
    this.sweep().unwatch(this);
    if (this.left || !this.down.leftUntaken()) return;
    this.left = true;
    this.env.answers.note('client_closed');
  }

  /** Headers already went out: cutting the connection is the only honest signal left to the client. */
  protected truncate(): void {
    this.done = true;
    this.res.destroy();
  }

  protected finishWithError(code: ProxyErrorCode): void {
    this.done = true;
    this.env.answers.note(code);
    sendProxyError(this.res, code, undefined, this.route.pages, this.entry);
    // Its client's bound, as a proxied answer's (an error page may be 1 MiB): the exchange watches it no more. A
    // client that closes mid-page is counted at the close, once, as one that leaves an ingress answer (answers.ts).
    this.env.answers.given(this.res, this.entry, this.bound('body'));
  }
}
