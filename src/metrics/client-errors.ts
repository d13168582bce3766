// Which clients a second's errors came from (a window keeps another of these for its 4xx), so the judge
// can keep one client from supplying most of the evidence (a client whose requests fail on any version,
// pinned to the canary by its sticky bucket). Only these answers are attributed: the first
// CLIENTS_PER_SECOND clients that failed in a second are counted exactly, later ones in that second are
// not told apart (their errors still count as the pool's). Keys are numbers (a sticky bucket), so the hot
// path allocates only once, at a window's first attributed answer.
// Seconds merged from other processes (workers) keep every client each one attributed: their union, as
// the judge reads it from Redis across replicas. Keeping only the first K merged would keep the first
// report's clients, not the first in time, and could drop the one client that supplied most errors.

export const CLIENTS_PER_SECOND = 4;
const K = CLIENTS_PER_SECOND;

export class ClientErrors {
  /**
   * size × K client keys, NaN for an empty entry; allocated with the first attributed answer (a pool without
   * any, a route group's window, never has them): until then every slot is empty.
   */
  private keys = new Float64Array(0);
  private counts = new Uint32Array(0);
  /** Merged clients past the slot's K, by slot (only when other processes' seconds are merged in). */
  private readonly more = new Map<number, Map<number, number>>();

  constructor(private readonly size: number) {}

  /** Called before a slot is written or read (its window opens the slot first). */
  reset(slot: number): void {
    if (this.keys.length === 0) return;
    this.keys.fill(NaN, slot * K, slot * K + K);
    this.counts.fill(0, slot * K, slot * K + K);
    if (this.more.size > 0) this.more.delete(slot);
  }

  /** `by` errors of `client` in the slot's second; false when the slot's K clients are others. */
  note(slot: number, client: number, by = 1): boolean {
    if (this.keys.length === 0) {
      this.keys = new Float64Array(this.size * K).fill(NaN);
      this.counts = new Uint32Array(this.size * K);
    }
    for (let j = slot * K; j < slot * K + K; j++) {
      const key = this.keys[j] as number;
      if (key === client) {
        this.counts[j] = (this.counts[j] as number) + by;
        return true;
      }
      if (Number.isNaN(key)) {
        this.keys[j] = client;
        this.counts[j] = by;
        return true;
      }
    }
    return false;
  }

  /** `by` errors of `client` in another process's report of the slot's second: kept past K too. */
  merge(slot: number, client: number, by: number): void {
    if (this.note(slot, client, by)) return;
    let m = this.more.get(slot);
    if (m === undefined) this.more.set(slot, (m = new Map()));
    m.set(client, (m.get(client) ?? 0) + by);
  }

  /** The slot's second has attributed errors. */
  has(slot: number): boolean {
    return this.keys.length > 0 && !Number.isNaN(this.keys[slot * K] as number);
  }

  /** Adds the slot's attributed errors into `out`, by client key. */
  addInto(out: Record<string, number>, slot: number): void {
    if (this.keys.length === 0) return;
    for (let j = slot * K; j < slot * K + K; j++) {
      const key = this.keys[j] as number;
      if (Number.isNaN(key)) break;
      out[key] = (out[key] ?? 0) + (this.counts[j] as number);
    }
    for (const [key, n] of this.more.get(slot) ?? []) out[key] = (out[key] ?? 0) + n;
  }
}
