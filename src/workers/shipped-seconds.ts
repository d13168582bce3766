// Which seconds every worker has shipped. The primary's windows hold a second's whole traffic only once
// each live worker's report of it is merged, and the readers that take each finished second once (the
// judge, the Redis flusher, the dashboard's series) ask `lastComplete` rather than waiting a fixed time
// after the second: on a loaded machine a report came more than the fixed 600 ms late, was merged after
// its second had been read, and its requests never reached the judge or Redis. A worker that stops
// reporting (hung, or stopped by a debugger) holds the readers back at most MAX_HOLD_MS.
import { MERGED_AFTER_MS } from './metrics-ship.js';

/** The longest a silent worker holds back the readers of finished seconds. */
export const MAX_HOLD_MS = 5_000;

const secondBefore = (ms: number): number => Math.floor(ms / 1000) - 1;

export class ShippedSeconds {
  /** Per worker: the newest second its reports cover whole. */
  private readonly through = new Map<number, number>();

  /** A worker began at `atMs`: it has no request before that second. */
  joined(worker: number, atMs: number): void {
    this.through.set(worker, secondBefore(atMs));
  }

  /** Its report covers every second up to `through` (reports come in order; an older one changes nothing). */
  shipped(worker: number, through: number): void {
    const known = this.through.get(worker);
    if (known !== undefined && through > known) this.through.set(worker, through);
  }

  /** It exited: its last report came before its exit. */
  gone(worker: number): void {
    this.through.delete(worker);
  }

  /** The newest second that every live worker has shipped, ended by `nowMs`, and held back at most MAX_HOLD_MS. */
  lastComplete(nowMs: number): number {
    if (this.through.size === 0) return secondBefore(nowMs - MERGED_AFTER_MS);
    let all = secondBefore(nowMs);
    for (const t of this.through.values()) all = Math.min(all, t);
    return Math.max(all, secondBefore(nowMs - MAX_HOLD_MS));
  }
}
