// The event loop delay published in /metrics: a loop blocked for 80 ms shows as a delay of at least
// that much in the window that saw it, and a window without a stall shows none of it (nor the sampling
// interval, which every sample counts in). A stall that begins just before a window ends is not lost
// to the window's reset.
import { afterEach, describe, expect, it } from 'vitest';
import { LoopDelay } from '../../../src/metrics/loop-delay.js';
import { LATENESS_EDGES_S } from '../../../src/metrics/loop-lateness.js';
import { waitFor } from '../../helpers/process.js';

let monitor: LoopDelay | null = null;
afterEach(() => monitor?.close());

function nextWindow(m: LoopDelay, after: number[] | null): Promise<number[]> {
  return waitFor(
    () => {
      const now = m.families()[0]!.samples.map((s) => s.value);
      return now.length > 0 && JSON.stringify(now) !== JSON.stringify(after) ? now : null;
    },
    { timeoutMs: 5_000, intervalMs: 25, what: 'a new window to be published' },
  );
}

describe('LoopDelay', () => {
  it('publishes nothing before its first window, then a stall as its largest quantile', async () => {
    monitor = new LoopDelay(5, 300);
    expect(monitor.families()).toEqual([
      expect.objectContaining({ name: 'veer_event_loop_delay_seconds', samples: [] }),
      expect.objectContaining({ name: 'veer_event_loop_lateness_seconds', type: 'histogram' }),
    ]);
    // The histogram's first tick only sets its baseline: block the loop after a few of its 5 ms ticks (the
    // sampling timer is the thing under test; nothing else can be waited on).
    await new Promise((r) => setTimeout(r, 30));
    const until = performance.now() + 80;
    while (performance.now() < until); // block the loop, as a long GC pause would
    const values = await nextWindow(monitor, null);
    const labels = monitor.families()[0]!.samples.map((s) => s.labels.quantile);
    expect(labels).toEqual(['0.5', '0.9', '0.99', '0.999', '1']);
    expect(values[4]).toBeGreaterThanOrEqual(0.07);
    // Counted since start too: the stall is a sample above 50 ms (a busy host may add more of its own).
    const { buckets } = monitor.lateness();
    const over = (edge: number): number =>
      buckets.slice(LATENESS_EDGES_S.indexOf(edge as never) + 1).reduce((a, b) => a + b, 0);
    expect(over(0.05)).toBeGreaterThanOrEqual(1);
    expect(buckets.reduce((a, b) => a + b, 0)).toBeGreaterThan(10); // 5 ms samples over at least 300 ms
    // Later windows without a stall: their largest delay drops well below the stall.
    let later = values;
    for (let i = 0; i < 5 && later[4]! >= 0.07; i++) later = await nextWindow(monitor, later);
    expect(later[4]).toBeLessThan(0.07);
    // The delay is the lateness beyond the 5 ms sampling interval, not the interval itself: a loop that is
    // not blocked reads well below 5 ms at the median (a raw sample, the whole interval, reads 5 ms and more).
    expect(later[0]).toBeLessThan(0.005);
  });

  it('a stall that begins just before a window ends is in the next window published, every time', async () => {
    const windowMs = 200;
    const m = new LoopDelay(10, windowMs);
    monitor = m;
    const spinUntil = (t: number): void => {
      while (performance.now() < t); // block the loop
    };
    /** When the next window is published (each is a new array). */
    const published = (): Promise<number> => {
      const before = m.quantiles();
      const what = 'the next window to be published';
      return waitFor(() => (m.quantiles() === before ? null : performance.now()), {
        what,
        timeoutMs: 2_000,
        intervalMs: 1,
      });
    };
    const found: number[] = [];
    for (let k = 0; k < 8; k++) {
      const end = (await published()) + windowMs; // the end of the window that has just begun
      // The times are what is under test: the stall is placed against the window's end, not after an event.
      await new Promise((r) => setTimeout(r, Math.max(0, end - 14 - performance.now())));
      // Made late, the sampler runs just before the end (in the next timers phase, which this 1 ms timer waits
      // for), so its next run falls due after the end: the window's timer comes first once the stall is over.
      spinUntil(end - 3);
      await new Promise((r) => setTimeout(r, 1));
      spinUntil(performance.now() + 60); // the stall, across the window's end (or just after it, on a busy host)
      await published();
      found.push(m.quantiles()?.[4] ?? 0);
    }
    // 60 ms blocked, less the 10 ms sampling interval.
    expect(
      found.filter((s) => s < 0.045),
      `largest delays: ${found.join(' ')}`,
    ).toEqual([]);
  });
});
