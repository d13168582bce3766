// A large answer of veer's own (an error or maintenance page, up to 1 MiB) written a piece at a time, the next
// once the connection took the last. A client's progress shows as writes complete: a page handed over at once
// (or in pieces written together, which a stream joins into one write) looked untaken to the slow-reader bound
// (unread-answers.ts) until its last byte left, so a client reading it steadily was cut. What is still unsent is
// known, and counts as unread.
import type { FrontResponse } from './front.js';

/** The piece a large page is written in (about what an upstream's body arrives in). */
export const PIECE = 64 * 1024;

/** Bytes of each paced answer not yet handed to its connection. */
const unsent = new WeakMap<FrontResponse, { left: number }>();

/** Ends `res` with `body`: at once when it is small, else a piece per drain. */
export function endPaced(res: FrontResponse, body: Buffer | string): void {
  if (typeof body === 'string' || body.length <= PIECE) return void res.end(body);
  const state = { left: body.length };
  unsent.set(res, state);
  const next = (): void => {
    while (!res.destroyed) {
      const at = body.length - state.left;
      const piece = body.subarray(at, at + PIECE);
      state.left -= piece.length;
      if (state.left === 0) {
        unsent.delete(res);
        return void res.end(piece);
      }
      if (!res.write(piece)) return void res.once('drain', next);
    }
    unsent.delete(res);
  };
  next();
}

/** Bytes of `res`'s answer still to be handed to its connection (0 unless it is paced). */
export function unsentOf(res: FrontResponse): number {
  return unsent.get(res)?.left ?? 0;
}
