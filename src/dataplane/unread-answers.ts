// veer's own answers (its 4xx/5xx, error and maintenance pages up to 1 MiB, redirects) that their client has
// not taken yet. A proxied answer's client that takes none of it for `timeouts.body` is cut (downstream.ts, by
// the exchange's sweep); an own answer has no exchange watching it, and neither front bounds a socket whose
// answer waits for its client (node:http's `server.timeout` is off; the lean front's idle bound spares a
// connection that owes an answer), so a client that never read one held its connection, or its HTTP/2 stream,
// for good. Each is cut the same way here: its connection closes, its stream is reset with ENHANCE_YOUR_CALM,
// and it is counted as a client that left. One sweep checks them all: no timer per answer, and an answer
// taken by the end of its turn (nearly all) is let go at its first look, never held for the sweep.
import { constants } from 'node:http2';
import type { FrontResponse } from './front.js';
import { answerOver } from './downstream.js';
import { H2Response } from './h2-response.js';
import { unsentOf } from './paced-body.js';
import { noteCut } from './untaken-answer.js';
import { DeadlineSweep, type Deadlined } from './upstream-deadlines.js';

/** What is known of an answer at a look: bytes waiting for its client, and when it last took some. */
export interface Unread {
  /** Bytes waiting at the last look (-1: not looked at yet). */
  readonly unread: number;
  /** performance.now() when its client last took bytes (or the first look). */
  readonly movedAt: number;
}

/**
 * At a look (`now`): 'over' (taken whole, or its connection or stream gone), 'moved' (first look, or bytes were
 * taken since the last: its bound runs again from `now`), 'cut' (none taken for `ms`), or the time of the next
 * look. Any progress counts, as with nginx's send_timeout: a slow link is not a stalled one.
 */
export function unreadStep(
  a: Unread,
  over: boolean,
  left: number,
  ms: number,
  now: number,
): 'over' | 'moved' | 'cut' | number {
  if (over) return 'over';
  // Nothing left in veer (its last write is being completed): not the client's holding, look again later.
  if (a.unread < 0 || left < a.unread || left === 0) return 'moved';
  return a.movedAt + ms > now ? a.movedAt + ms : 'cut';
}

const isOver = (res: FrontResponse): boolean => answerOver(res, res instanceof H2Response);

class Watched implements Deadlined, Unread {
  deadline = 0;
  slot = -1;
  unread = -1;
  movedAt = 0;

  constructor(
    readonly res: FrontResponse,
    readonly ms: number,
    private readonly owner: UnreadAnswers,
  ) {}

  expired(now: number): void {
    this.owner.look(this, now);
  }
}

export class UnreadAnswers {
  /** Answers ended this turn, and their bounds (two arrays: no object per answer). */
  private readonly fresh: FrontResponse[] = [];
  private readonly freshMs: number[] = [];

  constructor(
    /** The listener's `timeouts.body`: the bound of an answer given before a route was known. */
    readonly boundMs: number,
    /** Told of each answer cut (counted as a client that left). */
    private readonly onCut: () => void,
    private readonly sweep: DeadlineSweep = new DeadlineSweep(),
  ) {}

  /** Answers watched now. */
  get size(): number {
    return this.sweep.size;
  }

  /**
   * `res` has just been ended with veer's own answer: cut if its client takes none of it for `ms` (its route's
   * `timeouts.body`, else the listener's). First looked at once this turn's writes went out (the lean front
   * uncorks at the turn's end): nearly every answer is over by then and is let go at once. Held for the sweep
   * instead, each answer of a flood of 404s or redirects (its request, response and access entry) lived 50 ms and
   * cost 4.5% of their throughput.
   */
  watch(res: FrontResponse, ms: number = this.boundMs): void {
    if (res.destroyed) return;
    this.fresh.push(res);
    this.freshMs.push(ms);
    if (this.fresh.length === 1) setImmediate(this.firstLook);
  }

  private readonly firstLook = (): void => {
    for (let i = 0; i < this.fresh.length; i++) {
      const res = this.fresh[i] as FrontResponse;
      if (!isOver(res)) this.sweep.watch(new Watched(res, this.freshMs[i] as number, this), 0);
    }
    this.fresh.length = this.freshMs.length = 0;
  };

  /** @internal A look by the sweep. */
  look(w: Watched, now: number): void {
    const res = w.res;
    const left = res.writableLength + unsentOf(res);
    const step = unreadStep(w, isOver(res), left, w.ms, now);
    if (step === 'over') return;
    if (step === 'moved') {
      [w.unread, w.movedAt] = [left, now];
      return this.sweep.watchUntil(w, now + w.ms);
    }
    if (step !== 'cut') return this.sweep.watchUntil(w, step);
    this.onCut();
    noteCut(res, left); // its access line says so, with the bytes its client got (untaken-answer.ts)
    if (res instanceof H2Response) res.reset(constants.NGHTTP2_ENHANCE_YOUR_CALM);
    else res.destroy();
  }
}
