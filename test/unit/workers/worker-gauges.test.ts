// The primary's sum of its workers' gauges: the latest report of each live worker, and the access line
// counts of workers that exited kept (counters never go down).
import { describe, expect, it } from 'vitest';
import { LATENESS_EDGES_S, type LatenessCounts } from '../../../src/metrics/loop-lateness.js';
import type { GaugesReport } from '../../../src/workers/messages.js';
import { WorkerGaugeSum } from '../../../src/workers/worker-gauges.js';

const report = (
  inFlight: number,
  written: number,
  outstanding: GaugesReport['outstanding'] = [],
  loopDelay: number[] | null = null,
  loopLateness: LatenessCounts = { buckets: new Array<number>(LATENESS_EDGES_S.length + 1).fill(0), sum: 0 },
): Omit<GaugesReport, 'type' | 'connections'> => ({
  inFlight,
  waiting: inFlight > 0 ? 1 : 0,
  accessLines: { written, dropped: written > 100 ? 1 : 0 },
  outstanding,
  loopDelay,
  loopLateness,
});

describe('WorkerGaugeSum', () => {
  it('adds the latest report of each worker; a newer report replaces the older', () => {
    const sum = new WorkerGaugeSum();
    sum.update(1, report(3, 10, [['web', 'stable', 'a:1', 2]]));
    sum.update(
      2,
      report(1, 20, [
        ['web', 'stable', 'a:1', 1],
        ['web', 'canary', 'b:1', 1],
      ]),
    );
    sum.update(1, report(2, 12, [['web', 'stable', 'a:1', 1]]));
    expect([sum.inFlight, sum.waiting]).toEqual([3, 2]);
    expect(sum.accessLines()).toEqual({ written: 32, dropped: 0 });
    const out = sum.outstanding();
    expect([out('web', 'stable', 'a:1'), out('web', 'canary', 'b:1'), out('web', 'canary', 'a:1')]).toEqual([2, 1, 0]);
    expect([sum.inFlightOf(1), sum.inFlightOf(2), sum.inFlightOf(3)]).toEqual([2, 1, null]);
  });

  it('a worker that exits takes its gauges but leaves its line counts', () => {
    const sum = new WorkerGaugeSum();
    sum.update(1, report(4, 150, [['web', 'stable', 'a:1', 4]]));
    sum.update(2, report(1, 5));
    sum.gone(1);
    sum.gone(1);
    sum.gone(9);
    expect(sum.inFlight).toBe(1);
    expect(sum.outstanding()('web', 'stable', 'a:1')).toBe(0);
    expect(sum.accessLines()).toEqual({ written: 155, dropped: 1 });
    sum.update(3, report(0, 7));
    expect(sum.accessLines()).toEqual({ written: 162, dropped: 1 });
  });

  it("keeps each worker's latest loop delay; one without a complete window yet is left out", () => {
    const sum = new WorkerGaugeSum();
    sum.update(1, report(0, 0, [], [0.001, 0.002, 0.0031234, 0.004, 0.005]));
    sum.update(2, report(0, 0, [], null));
    sum.update(3, report(0, 0, [], [0, 0, 0.5, 0.6, 0.7]));
    sum.update(3, report(0, 0, [], [0, 0, 0.02, 0.03, 0.04]));
    expect(sum.loopDelays()).toEqual([
      { worker: 1, quantiles: [0.001, 0.002, 0.0031234, 0.004, 0.005] },
      { worker: 3, quantiles: [0, 0, 0.02, 0.03, 0.04] },
    ]);
    expect([
      sum.loopDelayP99MsOf(1),
      sum.loopDelayP99MsOf(2),
      sum.loopDelayP99MsOf(3),
      sum.loopDelayP99MsOf(4),
    ]).toEqual([3.123, null, 20, null]);
    sum.gone(3);
    expect(sum.loopDelays().map((d) => d.worker)).toEqual([1]);
  });

  it("keeps each live worker's loop delay samples since its start, as its last report gave them", () => {
    const sum = new WorkerGaugeSum();
    const counts = (n: number): LatenessCounts => {
      const buckets = new Array<number>(LATENESS_EDGES_S.length + 1).fill(0);
      buckets[0] = n;
      buckets[LATENESS_EDGES_S.length] = 1;
      return { buckets, sum: 12 + n * 0.0001 };
    };
    sum.update(1, report(0, 0, [], null, counts(10)));
    sum.update(2, report(0, 0, [], null, counts(20)));
    sum.update(1, report(0, 0, [], null, counts(110)));
    expect(sum.latenesses()).toEqual([
      { worker: 1, counts: counts(110) },
      { worker: 2, counts: counts(20) },
    ]);
    sum.gone(1);
    expect(sum.latenesses().map((l) => l.worker)).toEqual([2]);
  });
});
