// Where the WebSocket frames from an upstream end, so veer can say goodbye to a client between two
// frames (a close frame written into the middle of another frame would corrupt the stream). Reads
// frame headers only and skips payloads by counting: O(1) per chunk past the header bytes.

/** Close frame, server to client (unmasked), status 1001 "going away" (RFC 6455 §7.4.1). */
export const CLOSE_GOING_AWAY: Buffer = Buffer.from([0x88, 0x02, 0x03, 0xe9]);

export class FrameBoundaries {
  /** Payload bytes still to come in the current frame. */
  private need = 0;
  /** Header bytes of the frame being read (at most 14). */
  private readonly header: number[] = [];

  feed(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.need > 0) {
        const take = Math.min(this.need, chunk.length - i);
        this.need -= take;
        i += take;
        continue;
      }
      this.header.push(chunk[i] as number);
      i++;
      const payload = this.headerPayload();
      if (payload !== null) {
        this.header.length = 0;
        this.need = payload;
      }
    }
  }

  /** True between frames: nothing of a frame has been passed on without the rest of it. */
  get atBoundary(): boolean {
    return this.need === 0 && this.header.length === 0;
  }

  /** The payload length once the header is complete, else null. */
  private headerPayload(): number | null {
    const h = this.header;
    if (h.length < 2) return null;
    const len7 = (h[1] as number) & 0x7f;
    const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    const masked = ((h[1] as number) & 0x80) !== 0;
    if (h.length < 2 + ext + (masked ? 4 : 0)) return null;
    if (ext === 0) return len7;
    let n = 0;
    for (let k = 2; k < 2 + ext; k++) n = n * 256 + (h[k] as number);
    return n;
  }
}
