// The access log's face: whether lines are written, the sample, the sink they go to, and the counts
// Prometheus shows. A reload swaps the section (the old sink writes what it queued, then closes), and
// SIGUSR1 reopens a file output for log rotation.
import cluster from 'node:cluster';
import type { AccessLogConfig } from '../config/access-log-schema.js';
import type { Random } from '../domain/clock.js';
import { errorMessage } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import type { AccessEntry } from './access-entry.js';
import { accessLine, outcome, sampled } from './access-line.js';
import { refusalLine, type RefusedRequest } from './access-refusal.js';
import { FileOutput, standardOutput, type LineOutput } from './line-output.js';
import { DEFAULT_BOUNDS, LineSink, type SinkBounds } from './line-sink.js';

/** How long a swapped-out or closing sink may take to write what it queued. */
const FLUSH_BOUND_MS = 2_000;

export interface AccessLogDeps {
  random: Random;
  log: Logger;
  bounds?: SinkBounds;
}

function outputOf(output: string, log: Logger): LineOutput {
  // A data-plane worker shares stdout and stderr with its siblings and the primary (node:cluster).
  const shared = cluster.isWorker;
  const movedOff = (ms: number): void =>
    log.log('warn', 'access log write was slow; written off the event loop from now on', {
      output,
      ms: Math.round(ms),
    });
  if (output === 'stdout') return standardOutput(process.stdout, shared, { movedOff });
  if (output === 'stderr') return standardOutput(process.stderr, shared, { movedOff });
  return new FileOutput(output);
}

export class AccessLog {
  private sink: LineSink | null = null;
  private sample = 1;
  private current: AccessLogConfig | null = null;
  /** Counts of sinks already closed (the metrics are totals over the process's life). */
  private pastWritten = 0;
  private pastDropped = 0;
  /** Sinks swapped out that are still writing what they queued (counted until they are done). */
  private readonly retiring = new Set<LineSink>();
  private complained = false;

  constructor(
    config: AccessLogConfig,
    private readonly deps: AccessLogDeps,
  ) {
    void this.configure(config);
  }

  get enabled(): boolean {
    return this.sink !== null;
  }

  /** The response closed: the line, if the sample (or the outcome) says it is written. */
  record(e: AccessEntry): void {
    const sink = this.sink;
    if (sink === null) return;
    const { status, error } = outcome(e);
    if (!sampled(this.sample, status, error, this.deps.random)) return;
    sink.push(accessLine(e, performance.now(), status, error));
  }

  /** A request refused before it had an entry (access-refusal.ts): always written, as veer's own answers are. */
  refused(r: RefusedRequest, at: number): void {
    this.sink?.push(refusalLine(r, at));
  }

  /** Applies a (reloaded) section; a changed output gets a new sink, the old one finishes its lines. */
  async configure(c: AccessLogConfig): Promise<void> {
    const prev = this.current;
    this.current = c;
    this.sample = c.sample;
    if (prev !== null && prev.enabled === c.enabled && prev.output === c.output) {
      this.sink?.setFlushMs(c.flushInterval);
      return;
    }
    const old = this.sink;
    const bounds = this.deps.bounds ?? DEFAULT_BOUNDS;
    this.sink = c.enabled
      ? new LineSink(outputOf(c.output, this.deps.log), this.onError, bounds, c.flushInterval)
      : null;
    if (old !== null) await this.retire(old);
  }

  /** Log rotation: a file output is opened again at its path. */
  reopen(): void {
    this.complained = false;
    this.sink?.reopen();
  }

  /** Lines written and dropped since the start. */
  counts(): { written: number; dropped: number } {
    const live = [...this.retiring, ...(this.sink === null ? [] : [this.sink])];
    return {
      written: live.reduce((n, s) => n + s.written, this.pastWritten),
      dropped: live.reduce((n, s) => n + s.dropped, this.pastDropped),
    };
  }

  /** Resolves once what is queued now has been written (bounded): tests and shutdown. */
  flushed(ms = FLUSH_BOUND_MS): Promise<boolean> {
    return this.sink?.drained(ms) ?? Promise.resolve(true);
  }

  async close(): Promise<void> {
    const old = this.sink;
    this.sink = null;
    if (old !== null) await this.retire(old);
  }

  private async retire(sink: LineSink): Promise<void> {
    this.retiring.add(sink);
    await sink.close(FLUSH_BOUND_MS);
    this.retiring.delete(sink);
    this.pastWritten += sink.written;
    this.pastDropped += sink.dropped;
  }

  // Said once until the next reopen: a full disk would otherwise log one warning per batch.
  private readonly onError = (e: Error): void => {
    if (this.complained) return;
    this.complained = true;
    this.deps.log.log('warn', 'access log lines could not be written (dropped and counted)', {
      output: this.current?.output,
      error: errorMessage(e),
    });
  };
}
