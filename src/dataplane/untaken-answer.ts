// How much of veer's own answer (an error or maintenance page, up to 1 MiB) never left veer for its client: the
// access line's truth when its client left mid-page or was cut for taking none of it (unread-answers.ts). Read
// once, when the answer closes, and only for veer's own answers: no cost on the proxied path.
import type { FrontResponse } from './front.js';
import { handedWhole } from './downstream.js';
import { H2Response } from './h2-response.js';
import { unsentOf } from './paced-body.js';

/**
 * Answers cut for not being read, and the bytes that still waited in veer then. Kept from the cut to the close:
 * a destroyed socket may call its last write done as it closes (node:http then says the answer finished), and
 * drops what it buffered, so neither tells the truth at the close.
 */
const cutWith = new WeakMap<FrontResponse, number>();

/** `res` is being cut for taking none of its answer; `left`: the bytes of it still waiting in veer. */
export function noteCut(res: FrontResponse, left: number): void {
  cutWith.set(res, left);
}

/**
 * At the close of veer's own answer: -1 when its client got it whole (every byte handed to the kernel), else the
 * bytes that never left veer: those not yet handed to the connection, and those its socket or stream still says
 * it holds (a socket destroyed by its client's reset has dropped its buffer: what it held counts as written, as
 * it does in a proxied answer's bytesOut).
 */
export function untakenOf(res: FrontResponse): number {
  const cut = cutWith.get(res);
  if (cut !== undefined) return cut;
  // Finished is not enough on node:http's front: a socket its client reset calls the write in flight done.
  if (handedWhole(res, res instanceof H2Response)) return -1;
  return unsentOf(res) + res.writableLength;
}

/**
 * At the close of veer's own answer: its client closed mid-way (not cut for taking none of it: the cut was counted
 * then). Such a client left, and is counted once as one that left (AnswerCounts.given, AccessEntry).
 */
export function leftMidway(res: FrontResponse): boolean {
  return !wasCut(res) && untakenOf(res) >= 0;
}

/** `res` was cut for taking none of its answer (its client was counted as one that left then). */
export function wasCut(res: FrontResponse): boolean {
  return cutWith.has(res);
}
