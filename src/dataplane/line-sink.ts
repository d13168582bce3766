// Lines buffered in memory and written in batches, never blocking a request: one write at a time,
// started `flushMs` after the first line queued (0: at the end of its turn), or at once when the buffer
// passes `batchBytes`. While the output cannot keep up, lines beyond `maxBytes` (queued plus being
// written) are dropped and counted, never held.
import type { LineOutput } from './line-output.js';

export interface SinkBounds {
  /** A write starts at once above this many queued bytes (else on the next tick). */
  batchBytes: number;
  /** Queued plus in-flight bytes above which new lines are dropped. */
  maxBytes: number;
}

export const DEFAULT_BOUNDS: SinkBounds = { batchBytes: 64 * 1024, maxBytes: 8 * 1024 * 1024 };

export class LineSink {
  private queue: string[] = [];
  private queuedBytes = 0;
  private inFlightBytes = 0;
  private writing = false;
  /** The write due for what is queued: on a timer (flushMs > 0) or at the end of the turn; neither when none is. */
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private idle: Array<() => void> = [];
  /** Lines the output accepted. */
  written = 0;
  /** Lines dropped: over the bound, or their write failed. */
  dropped = 0;

  constructor(
    private readonly out: LineOutput,
    private readonly onError: (e: Error) => void,
    private readonly bounds: SinkBounds = DEFAULT_BOUNDS,
    /**
     * How long a line may wait for others to share its write. At a quarter of saturation, one write per turn was
     * about one system call for every two requests (bench/RESULTS.md).
     */
    private flushMs = 0,
  ) {}

  /** `line` ends with a newline. Its length in UTF-16 units stands for its bytes (close enough for a bound). */
  push(line: string): void {
    if (this.queuedBytes + this.inFlightBytes + line.length > this.bounds.maxBytes) {
      this.dropped++;
      return;
    }
    this.queue.push(line);
    this.queuedBytes += line.length;
    if (this.writing) return;
    if (this.queuedBytes >= this.bounds.batchBytes) this.flush();
    else if (this.timer === null && this.immediate === null) {
      // Unref'd: a queued line never keeps a process alive that is otherwise done (close() writes it).
      if (this.flushMs > 0) this.timer = setTimeout(this.onDue, this.flushMs).unref();
      else this.immediate = setImmediate(this.onDue);
    }
  }

  /** A new interval (a reload): what waits for the old one is written now, the next lines wait for the new one. */
  setFlushMs(ms: number): void {
    if (ms === this.flushMs) return;
    this.flushMs = ms;
    if (this.timer === null && this.immediate === null) return;
    this.cancelDue();
    this.flush();
  }

  /** Resolves once everything queued now has been written (or dropped), bounded by `ms`. */
  drained(ms: number): Promise<boolean> {
    if (!this.writing && this.queue.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
      this.flush();
    });
  }

  /** Writes what is queued (bounded by `ms`), then closes the output. */
  async close(ms: number): Promise<void> {
    this.cancelDue();
    await this.drained(ms);
    await this.out.close();
  }

  /** Log rotation: the lines answered before the signal go to the file they would have gone to without a hold. */
  reopen(): void {
    this.cancelDue();
    this.flush();
    this.out.reopen();
  }

  private readonly onDue = (): void => {
    this.timer = null;
    this.immediate = null;
    this.flush();
  };

  private cancelDue(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
  }

  private flush(): void {
    if (this.writing || this.queue.length === 0) return;
    const batch = this.queue;
    const bytes = this.queuedBytes;
    [this.queue, this.queuedBytes, this.inFlightBytes, this.writing] = [[], 0, bytes, true];
    this.out.write(batch.join(''), (err) => {
      [this.writing, this.inFlightBytes] = [false, 0];
      if (err === null) this.written += batch.length;
      else {
        this.dropped += batch.length;
        this.onError(err);
      }
      if (this.queue.length > 0) return this.flush();
      for (const done of this.idle.splice(0)) done();
    });
  }
}
