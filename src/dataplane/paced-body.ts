// A large answer of veer's own (an error or maintenance page, up to 1 MiB) written a piece at a time, the next
// once the connection took the last. A client's progress shows as writes complete: a page handed over at once
// (or in pieces written together, which a stream joins into one write) looked untaken to the slow-reader bound
// (unread-answers.ts) until its last byte left, so a client reading it steadily was cut. What is still unsent is
// known, and counts as unread.
import type { FrontResponse } from './front.js';
import { H2Response } from './h2-response.js';

/** The piece a large page is written in (about what an upstream's body arrives in). */
export const PIECE = 64 * 1024;

/**
 * Over HTTP/2, a DATA frame's default size: a write counts as waiting until its last byte is sent, and a client's
 * window (64 KiB at first) lets out less than a 64 KiB piece at a time, so a piece half taken looked untaken whole,
 * to the slow-reader bound and to the access line's bytesOut (untaken-answer.ts). A socket's kernel buffer takes
 * a 64 KiB piece at once.
 */
export const H2_PIECE = 16 * 1024;

/** Bytes of each paced answer not yet handed to its connection. */
const unsent = new WeakMap<FrontResponse, { left: number }>();

/** Ends `res` with `body`: at once when it is small, else a piece per drain. */
export function endPaced(res: FrontResponse, body: Buffer | string): void {
  const size = res instanceof H2Response ? H2_PIECE : PIECE;
  if (typeof body === 'string' || body.length <= size) return void res.end(body);
  const state = { left: body.length };
  unsent.set(res, state);
  const next = (): void => {
    while (!res.destroyed) {
      const at = body.length - state.left;
      const piece = body.subarray(at, at + size);
      state.left -= piece.length;
      if (state.left === 0) {
        unsent.delete(res);
        return void res.end(piece);
      }
      if (!res.write(piece)) return void res.once('drain', next);
    }
    // Gone mid-page: what was never handed over stays known, for its access line (untaken-answer.ts).
  };
  next();
}

/** Bytes of `res`'s answer still to be handed to its connection (0 unless it is paced). */
export function unsentOf(res: FrontResponse): number {
  return unsent.get(res)?.left ?? 0;
}
