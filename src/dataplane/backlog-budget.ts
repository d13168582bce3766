// What the slow clients of h2c services may hold in veer, all together. An h2c answer is never paused
// (downstream.ts, H2C_BACKLOG_BYTES): what its client has not read waits in veer, up to a bound per call. A
// bound per call alone bounds nothing: 100 streams per connection and any number of connections, each a call
// that never opens its window, hold 16 MiB each. So the process keeps one budget for all of them: past it, the
// largest backlog it knows of (the client furthest behind its upstream) is cut, and its bytes are freed.
// O(1) per write: no list, no scan; the largest is the one whose last report was the largest.

/** One answer's bytes waiting for its client, as its Downstream reports them. */
export interface Backlogged {
  /** Bytes last reported (0: none waiting). */
  backlog: number;
  /** Cut its client (as a client that left) and report 0. */
  cut(): void;
}

/** 256 MiB: far beyond what legitimate slow clients hold (each is bounded at 16 MiB), well within a process. */
export const BACKLOG_BUDGET_BYTES = 256 * 1024 * 1024;

export class BacklogBudget {
  /** Bytes waiting for slow clients now, every h2c answer's (as last reported). */
  total = 0;
  /** The answer whose backlog was the largest when reported (null: none known since it last went down to 0). */
  private largest: Backlogged | null = null;

  constructor(
    /** Bytes all backlogs may hold together (a test sets it low). */
    public limit = BACKLOG_BUDGET_BYTES,
  ) {}

  /** `b`'s backlog is now `bytes`. */
  report(b: Backlogged, bytes: number): void {
    this.total += bytes - b.backlog;
    b.backlog = bytes;
    const largest = this.largest;
    if (bytes === 0) {
      if (largest === b) this.largest = null;
    } else if (largest === null || bytes >= largest.backlog) this.largest = b;
  }

  /**
   * After `b` reported: while the total is past the limit, the largest backlog known is cut (`b` itself when
   * none is known). Each cut frees its whole backlog, so this runs once per write but in an attack.
   */
  enforce(b: Backlogged): void {
    while (this.total > this.limit) {
      const victim = this.largest ?? (b.backlog > 0 ? b : null);
      if (victim === null) return;
      victim.cut();
      // A cut that did not report (its client already gone): forget it, so the loop moves on.
      if (victim.backlog > 0) this.report(victim, 0);
    }
  }
}

/** The process's budget (each worker is a process of its own). */
export const processBacklog = new BacklogBudget();
