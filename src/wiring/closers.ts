// How veer shuts down: every subsystem registers how it is closed as it is built, and closing runs
// the list backwards (last built, first closed), so nothing is closed while something built on it
// still runs. A failing closer is logged and the rest still run.
import { errorMessage } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';

export class Closers {
  private readonly list: Array<{ name: string; close: () => Promise<void> }> = [];
  private closing: Promise<void> | null = null;

  add(name: string, close: () => Promise<void>): void {
    this.list.push({ name, close });
  }

  /** Runs once; later calls wait for the same run. */
  closeAll(log: Logger): Promise<void> {
    this.closing ??= (async () => {
      for (const c of this.list.splice(0).reverse()) {
        try {
          await c.close();
        } catch (e) {
          log.log('warn', 'closing failed', { part: c.name, error: errorMessage(e) });
        }
      }
    })();
    return this.closing;
  }
}
