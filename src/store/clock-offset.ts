// How far Redis's clock (TIME) is from this replica's. Each replica keys the seconds it flushes on a clock, and
// the judge decides a second is final by the clock too: on their own wall clocks, a replica ≥ ~2 s behind the
// leader flushed into seconds the judge had already read, and its traffic was left out for good. The heartbeat
// (replicas.ts) measures the offset; the flusher keys its seconds on Redis's clock, shifted by whole seconds.
import type { Logger } from '../domain/log.js';

/** Samples the offset is the median of: one slow or odd round trip does not move it. */
const SAMPLES = 5;
/** A sample whose round trip took longer says too little (Redis read its clock somewhere within it). */
const MAX_ROUND_TRIP_MS = 1_000;
/** Past this, clocks need fixing (NTP): said once per excursion. */
export const WARN_OFFSET_MS = 1_000;
/**
 * The whole-second shift moves only once the offset is this far from it: a synchronised cluster never shifts,
 * and an offset near a half second does not flip the shift to and fro (two seconds keyed into one).
 */
const HYSTERESIS_MS = 700;

export class ClockOffset {
  private readonly samples: number[] = [];
  private shift = 0;
  private warned = false;

  constructor(private readonly log: Logger) {}

  /** One round trip, sent and answered at these local times, during which Redis's clock said `redisMs`. */
  sample(redisMs: number, sentMs: number, answeredMs: number): void {
    const rtt = answeredMs - sentMs;
    if (!Number.isFinite(redisMs) || !(rtt >= 0) || rtt > MAX_ROUND_TRIP_MS) return;
    // The middle of the round trip is the best guess of when Redis read its clock (off by at most rtt / 2).
    this.samples.push(redisMs - (sentMs + answeredMs) / 2);
    if (this.samples.length > SAMPLES) this.samples.shift();
    const off = this.offsetMs() as number;
    if (Math.abs(off - this.shift * 1000) >= HYSTERESIS_MS) this.shift = Math.round(off / 1000);
    this.say(off);
  }

  /** Redis's clock minus this replica's, in ms (the median of the last samples); null before the first. */
  offsetMs(): number | null {
    if (this.samples.length === 0) return null;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  }

  /** Whole seconds to add to a second of this replica's clock to name the same second on Redis's. */
  secondsAhead(): number {
    return this.shift;
  }

  private say(off: number): void {
    const far = Math.abs(off) > WARN_OFFSET_MS;
    if (far && !this.warned)
      this.log.log('warn', "this replica's clock is off from Redis's; its metric seconds are shifted to match", {
        offsetMs: Math.round(off),
        shiftSeconds: this.shift,
        hint: 'keep every replica NTP-synchronised to within 1 s',
      });
    else if (!far && this.warned) this.log.log('info', "this replica's clock agrees with Redis's again", {});
    this.warned = far;
  }
}
