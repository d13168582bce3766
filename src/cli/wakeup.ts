// Wakes a polling loop early (an event arrived, a stream ended, the user pressed Ctrl+C) while its
// wait stays bounded by the poll interval.
import { settledWithin } from '../domain/async.js';

export class Wakeup {
  private resolve: (() => void) | null = null;
  private pending = false;

  /** Wakes the current wait, or the next one if nobody waits now (a wake is never lost). */
  fire(): void {
    if (this.resolve === null) this.pending = true;
    this.resolve?.();
    this.resolve = null;
  }

  async wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return;
    }
    await settledWithin(new Promise<void>((r) => (this.resolve = r)), ms);
    this.resolve = null;
  }
}
