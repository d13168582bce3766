// The bytes an answer of veer's own front holds back until its turn's uncork (turn-cork.ts), so that what comes
// later in the same turn can still join them. One per connection (lean-connection.ts), not one per answer: a
// connection writes one answer at a time, and what it holds is written before that answer can finish. Either a
// framed chunk with room for the last chunk behind it (chunk-frame.ts), or bytes to send as they are (a head and the
// whole body of a short answer, or a chunk that ends the answer).
import { asChunk, asLast } from './chunk-frame.js';

export class HeldBytes {
  private bytes: Buffer | null = null;
  private whole = false;

  get held(): boolean {
    return this.bytes !== null;
  }

  get length(): number {
    return this.bytes?.length ?? 0;
  }

  /** `whole`: to send as it is; else a framed chunk. */
  put(bytes: Buffer, whole: boolean): void {
    this.bytes = bytes;
    this.whole = whole;
  }

  /** What to write now (a chunk without its room); nothing is held after. */
  take(): Buffer | null {
    const bytes = this.bytes;
    this.bytes = null;
    return bytes === null || this.whole ? bytes : asChunk(bytes);
  }

  /** Whether what is held can end the answer: it does, a chunk with the last chunk in its room (no trailers). */
  ends(trailers: boolean): boolean {
    const bytes = this.bytes;
    if (bytes === null || (!this.whole && trailers)) return false;
    if (!this.whole) [this.bytes, this.whole] = [asLast(bytes), true];
    return true;
  }
}
