// How long the event loop was late, for /metrics: a stalled loop (a long GC pause, a synchronous burst of
// work) delays every request in flight at once, so it is the first thing to look at when the tail grows.
// A timer every `resolution` records how long it really took to come round (into a native histogram);
// each 10 s window is published whole, then reset, so a scrape shows recent stalls rather than an
// average since start. The same samples are also counted since start (loop-lateness.ts).
import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import { LatenessHistogram, latenessFamily, type LatenessCounts } from './loop-lateness.js';
import type { ExtraMetric } from './prometheus.js';

export const LOOP_QUANTILES = [0.5, 0.9, 0.99, 0.999, 1] as const;

export class LoopDelay {
  private readonly histogram: RecordableHistogram = createHistogram();
  private readonly sinceStart = new LatenessHistogram();
  private readonly sampler: NodeJS.Timeout;
  private readonly timer: NodeJS.Timeout;
  /** performance.now() at the last sample: kept across windows (see rotate). */
  private prev = performance.now();
  /** performance.now() at the sampler's last run (see tick). */
  private prevTick = this.prev;
  /** Seconds at each of QUANTILES over the last complete window; null before the first one ends. */
  private last: number[] | null = null;

  private readonly resolutionS: number;

  constructor(resolutionMs = 10, windowMs = 10_000) {
    this.resolutionS = resolutionMs / 1000;
    this.sampler = setInterval(() => this.tick(), resolutionMs);
    this.sampler.unref();
    this.timer = setInterval(() => this.rotate(), windowMs);
    this.timer.unref();
  }

  /**
   * The sampler's run. The count since start has a previous time of its own, taken only here: the window's
   * extra sample at rotation (below) cuts an interval short, which would add a sample of ~0 and under-read
   * the next one.
   */
  private tick(): void {
    const now = performance.now();
    this.sinceStart.record((now - this.prevTick) / 1000 - this.resolutionS);
    this.prevTick = now;
    this.sample(now);
  }

  private sample(now = performance.now()): void {
    this.histogram.record(Math.max(1, Math.round((now - this.prev) * 1e6)));
    this.prev = now;
  }

  private rotate(): void {
    // After a stall both timers are due at once, in either order. The window takes the stall with it
    // whichever runs first: it samples before it closes, and the sampler's previous time outlives the reset.
    // (Node's monitorEventLoopDelay forgets its previous time at reset(): a stall that ended just as a window
    // closed went unrecorded when the window's timer ran first.)
    this.sample();
    const h = this.histogram;
    // A sample is the whole interval between two runs of the sampler, so an idle loop reads as late by the
    // resolution itself: the delay is what is left above it.
    const late = (ns: number): number => Math.max(0, ns / 1e9 - this.resolutionS);
    this.last = h.count === 0 ? null : LOOP_QUANTILES.map((q) => late(q === 1 ? h.max : h.percentile(q * 100)));
    h.reset();
  }

  /** Seconds at each of LOOP_QUANTILES over the last complete window; null before the first one ends. */
  quantiles(): readonly number[] | null {
    return this.last;
  }

  /** Every sample since start, by bucket. */
  lateness(): LatenessCounts {
    return this.sinceStart.counts();
  }

  families(): ExtraMetric[] {
    const last = this.last;
    return [
      loopDelayFamily(
        'veer_event_loop_delay_seconds',
        'Event loop delay over the last complete 10 s window, by quantile (1 = the largest).',
        last === null ? [] : [{ labels: {}, quantiles: last }],
      ),
      latenessFamily(
        'veer_event_loop_lateness_seconds',
        'Event loop delay, every sample of its 10 ms timer since start (the samples of veer_event_loop_delay_seconds).',
        [{ labels: {}, counts: this.sinceStart.counts() }],
      ),
    ];
  }

  close(): void {
    clearInterval(this.sampler);
    clearInterval(this.timer);
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
