// The time bounds of the request a connection of veer's own HTTP/1.1 front is reading: node:http's
// headersTimeout (its head whole) and requestTimeout (its body read whole), both counted from its first
// byte. The front's sweep asks which one is past (lean-front.ts), as node:http checks them on an interval.

export type PastBound = 'head' | 'body' | null;

export class ReadBounds {
  /** performance.now() by which the head being read must be whole / the body being read must end; 0: none. */
  private head = 0;
  private body = 0;
  /** A request's first byte was read and its head is not whole yet. */
  heading = false;
  /** When the sweep saw the connection stop reading of its own accord; 0: it reads. */
  private stoppedAt = 0;

  constructor(
    private readonly headersTimeout: number,
    private readonly requestTimeout: number,
    private readonly now: () => number,
  ) {}

  /** A request's first byte was read. */
  begin(): void {
    this.heading = true;
    const at = this.now();
    this.head = this.headersTimeout > 0 ? at + this.headersTimeout : 0;
    this.body = this.requestTimeout > 0 ? at + this.requestTimeout : 0;
  }

  headWhole(): void {
    this.heading = false;
    this.head = 0;
  }

  bodyWhole(): void {
    this.body = 0;
  }

  /**
   * The connection itself stopped reading (a body waits to be read, many requests to be answered), as the
   * sweep saw at `now`: the bounds stand still until it reads again (what came before the sweep saw it counts).
   */
  stopped(now: number): void {
    if (this.stoppedAt === 0) this.stoppedAt = now;
  }

  /** It reads again: the bounds go on from where they stood. */
  resumed(): void {
    if (this.stoppedAt === 0) return;
    const shift = this.now() - this.stoppedAt;
    this.stoppedAt = 0;
    if (this.head !== 0) this.head += shift;
    if (this.body !== 0) this.body += shift;
  }

  /** The bound `now` is past, the head's first (it is cleared); `bodyOpen`: a body is being read. */
  past(now: number, bodyOpen: boolean): PastBound {
    if (this.head !== 0 && now > this.head) {
      this.head = 0;
      return 'head';
    }
    if (this.body !== 0 && now > this.body && bodyOpen) {
      this.body = 0;
      return 'body';
    }
    return null;
  }
}
