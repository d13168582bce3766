// The shift the judge reads Redis's seconds with: whole seconds Redis's clock is ahead of this reader's. The
// controller keeps its place on its own clock (the last second it analysed), so a shift that moved between two
// analyses (a clock stepped by NTP, the first measurement) moved that place on Redis's clock: a drop made the
// judge read seconds again (their errors counted twice), a rise skipped some. So the shift is held while reads go
// on, and taken anew only once they paused (no rollout analysing: no place to lose). Held, a shift gone stale
// still reads every second once, in order, and never one not yet flushed (the newest is bounded by Redis's own
// TIME: merged-source.ts `settledOnBoth`); what it costs is where a step's first seconds are told apart (off by
// the change, for the rest of that rollout), not evidence counted twice.

/**
 * Reads paused this long (monotonic ms) at least: no rollout keeps a place, and the shift is taken anew. A rollout
 * reads once per its `analysisInterval`, so the wiring makes it longer than the longest of those.
 */
export const HOLD_IDLE_MS = 30_000;

export class ReadShift {
  private held = 0;
  private usedAt = Number.NEGATIVE_INFINITY;

  constructor(
    /** The measured shift now; null before the first measurement. */
    private readonly current: () => number | null,
    /** A monotonic clock (ms): a wall clock stepped forward must not end the hold. */
    private readonly monotonic: () => number,
    private readonly idleMs: () => number = () => HOLD_IDLE_MS,
  ) {}

  /**
   * The shift to read with now, held from the previous read while reads go on. A 0 read before the first measurement
   * is a guess, and is not held: the first measurement is taken at the next read. Held, a guess cost a rollout whose
   * judge began before its first heartbeat sample (a loaded host: a round trip over 1 s is no sample) the clocks'
   * whole difference on every step, for the rest of that rollout (CI: +10 and +15 s with clocks 10 s apart). Nothing
   * was read on the guess to be read again: the judge finds no second complete until the shift is measured.
   */
  take(): number {
    const now = this.monotonic();
    if (now - this.usedAt > this.idleMs()) {
      const measured = this.current();
      if (measured === null) return 0; // no read is stamped: the next one takes the shift anew
      this.held = measured;
    }
    this.usedAt = now;
    return this.held;
  }

  /** Whether the shift has been measured at all (the heartbeat's first sample). */
  get measured(): boolean {
    return this.current() !== null;
  }

  /** The measured shift now (not held): for what has no place to keep, such as which replicas are alive. */
  now(): number {
    return this.current() ?? this.held;
  }
}
