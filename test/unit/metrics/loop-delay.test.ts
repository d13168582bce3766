// The event loop delay published in /metrics: a loop blocked for 80 ms shows as a delay of at least
// that much in the window that saw it, and a window without a stall shows none of it.
import { afterEach, describe, expect, it } from 'vitest';
import { LoopDelay } from '../../../src/metrics/loop-delay.js';

let monitor: LoopDelay | null = null;
afterEach(() => monitor?.close());

async function nextWindow(m: LoopDelay, after: number[] | null): Promise<number[]> {
  for (let i = 0; i < 200; i++) {
    const now = m.families()[0]!.samples.map((s) => s.value);
    if (now.length > 0 && JSON.stringify(now) !== JSON.stringify(after)) return now;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no window was published within 5 s');
}

describe('LoopDelay', () => {
  it('publishes nothing before its first window, then a stall as its largest quantile', async () => {
    monitor = new LoopDelay(5, 300);
    expect(monitor.families()).toEqual([
      expect.objectContaining({ name: 'veer_event_loop_delay_seconds', samples: [] }),
    ]);
    // The histogram's first tick only sets its baseline: block the loop after a few ticks.
    await new Promise((r) => setTimeout(r, 30));
    const until = performance.now() + 80;
    while (performance.now() < until); // block the loop, as a long GC pause would
    const values = await nextWindow(monitor, null);
    const labels = monitor.families()[0]!.samples.map((s) => s.labels.quantile);
    expect(labels).toEqual(['0.5', '0.9', '0.99', '0.999', '1']);
    expect(values[4]).toBeGreaterThanOrEqual(0.07);
    // Later windows without a stall: their largest delay drops well below the stall.
    let later = values;
    for (let i = 0; i < 5 && later[4]! >= 0.07; i++) later = await nextWindow(monitor, later);
    expect(later[4]).toBeLessThan(0.07);
  });
});
