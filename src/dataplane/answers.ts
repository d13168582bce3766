// What veer answered by itself instead of an upstream, by code (plus clients that left before an
// answer): the visible side of "client faults never count against a pool". Counted here, in one
// place, so an operator sees refused and cut requests without them touching any pool's figures.
import type { ProxyErrorCode } from './responses.js';
import type { ParserRefusal } from './server.js';

/** Node's own parser refusals (before veer sees a request) use these codes too. */
export type VeerAnswer = ProxyErrorCode | ParserRefusal | 'client_closed';

export class AnswerCounts {
  private readonly counts = new Map<VeerAnswer, number>();

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
