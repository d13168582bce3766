// How long the event loop was late, for /metrics: a stalled loop (a long GC pause, a synchronous burst of
// work) delays every request in flight at once, so it is the first thing to look at when the tail grows.
// Node's own histogram (perf_hooks) samples it off the loop; each 10 s window is published whole, then
// reset, so a scrape shows recent stalls rather than an average since start.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { ExtraMetric } from './prometheus.js';

export const LOOP_QUANTILES = [0.5, 0.9, 0.99, 0.999, 1] as const;

export class LoopDelay {
  private readonly histogram: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;
  /** Seconds at each of QUANTILES over the last complete window; null before the first one ends. */
  private last: number[] | null = null;

  private readonly resolutionS: number;
  private closed = false;

  constructor(resolutionMs = 10, windowMs = 10_000) {
    this.resolutionS = resolutionMs / 1000;
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs });
    this.histogram.enable();
    // After a stall, the window's timer and the monitor's both come due in one pass over the timers, and
    // reset() makes the monitor's next tick record nothing (it drops its previous time); were the window
    // first, the stall would be lost. Rotating in the check phase lets every due tick record first.
    this.timer = setInterval(() => setImmediate(() => this.rotate()), windowMs);
    this.timer.unref();
  }

  private rotate(): void {
    if (this.closed) return;
    const h = this.histogram;
    // Node records the whole interval between two of its timer's runs, so an idle loop reads as late by the
    // resolution itself (10 ms at the median, measured): the delay is what is left above it.
    const late = (ns: number): number => Math.max(0, ns / 1e9 - this.resolutionS);
    this.last = h.count === 0 ? null : LOOP_QUANTILES.map((q) => late(q === 1 ? h.max : h.percentile(q * 100)));
    h.reset();
  }

  /** Seconds at each of LOOP_QUANTILES over the last complete window; null before the first one ends. */
  quantiles(): readonly number[] | null {
    return this.last;
  }

  families(): ExtraMetric[] {
    const last = this.last;
    return [
      loopDelayFamily(
        'veer_event_loop_delay_seconds',
        'Event loop delay over the last complete 10 s window, by quantile (1 = the largest).',
        last === null ? [] : [{ labels: {}, quantiles: last }],
      ),
    ];
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.histogram.disable();
  }
}

/** A family of loop delays, one sample per quantile of each labelled source. */
export function loopDelayFamily(
  name: string,
  help: string,
  sources: ReadonlyArray<{ labels: Record<string, string>; quantiles: readonly number[] }>,
): ExtraMetric {
  const samples: ExtraMetric['samples'] = [];
  for (const { labels, quantiles } of sources)
    LOOP_QUANTILES.forEach((q, i) =>
      samples.push({ labels: { ...labels, quantile: String(q) }, value: quantiles[i]! }),
    );
  return { name, help, type: 'gauge', samples };
}
