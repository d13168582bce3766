// What veer answered by itself instead of an upstream, by code (plus clients that left before an answer, or
// that took none of an answer for `timeouts.body`): the visible side of "client faults never count against a
// pool". Counted here, in one place, so an operator sees refused and cut requests without them touching any
// pool's figures. Its own answers are also watched here until their client takes them (unread-answers.ts).
import type { AccessEntry } from './access-entry.js';
import type { FrontResponse } from './front.js';
import { onClose } from './ledger.js';
import type { ProxyErrorCode } from './responses.js';
import type { ParserRefusal } from './server.js';
import { leftMidway } from './untaken-answer.js';
import { UnreadAnswers } from './unread-answers.js';

/** Node's own parser refusals (before veer sees a request) use these codes too. */
export type VeerAnswer = ProxyErrorCode | ParserRefusal | 'client_closed';

/** The schema's `proxy.timeouts.body`, for counts made without a config (a test's). */
const DEFAULT_BODY_MS = 60_000;

export class AnswerCounts {
  private readonly counts = new Map<VeerAnswer, number>();
  /** veer's own answers not yet taken by their client; one that takes none for its bound is cut. */
  readonly unread: UnreadAnswers;

  /** `bodyMs`: the listener's `timeouts.body`, the bound of an answer given before a route was known. */
  constructor(bodyMs = DEFAULT_BODY_MS) {
    this.unread = new UnreadAnswers(bodyMs, () => this.note('client_closed'));
  }

  /**
   * `res` was given veer's own answer (its code counted by the caller, if it has one): watched until its client
   * takes it (cut, and counted as a client that left, if it takes none for `ms`), and a client that closes mid-way
   * is counted at the close, once, as every client that leaves is: by its access entry, else (ids and access log
   * off: no entry) by a listener of its own. `ms`: its route's `timeouts.body` (default: the listener's).
   */
  given(res: FrontResponse, entry: AccessEntry | null, ms?: number): void {
    if (entry !== null) entry.leaving = this;
    else if (!res.destroyed) onClose(res, { responseClosed: () => this.leftMidway(res) });
    this.unread.watch(res, ms);
  }

  private leftMidway(res: FrontResponse): void {
    if (leftMidway(res)) this.note('client_closed');
  }

  note(answer: VeerAnswer): void {
    this.add(answer, 1);
  }

  /** Another process's counts (a worker's, since its last report). */
  add(answer: VeerAnswer, n: number): void {
    this.counts.set(answer, (this.counts.get(answer) ?? 0) + n);
  }

  entries(): Array<[VeerAnswer, number]> {
    return [...this.counts.entries()];
  }
}
