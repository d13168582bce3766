// Rapid-reset flood protection (CVE-2023-44487): a client that opens streams and cancels them at
// once makes the server start work it never gets to finish, at no cost to itself. Each connection
// may cancel `burst` streams, refilled at `ratePerSecond`; past that the decision is to close it.
export class ResetGuard {
  private tokens: number;
  private last: number;

  constructor(
    private readonly burst: number,
    private readonly ratePerSecond: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** One stream the client cancelled; false once the connection has cancelled too many too fast. */
  allow(now: number): boolean {
    const refill = ((now - this.last) / 1000) * this.ratePerSecond;
    this.tokens = Math.min(this.burst, this.tokens + refill);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
