// The loop delay counted since start: each sample lands in the first bucket whose edge it does not
// exceed, and the exposition is a Prometheus histogram (cumulative `le`, `_sum`, `_count`) that
// Prometheus itself would accept.
import { describe, expect, it } from 'vitest';
import { LATENESS_EDGES_S, LatenessHistogram, latenessFamily } from '../../../src/metrics/loop-lateness.js';
import { renderPrometheus } from '../../../src/metrics/prometheus.js';
import { MetricsRegistry } from '../../../src/metrics/registry.js';

describe('LatenessHistogram', () => {
  it('counts each sample in the first bucket at or above it; an edge belongs to its own bucket', () => {
    const h = new LatenessHistogram();
    for (const s of [-0.0001, 0, 0.0005, 0.00051, 0.003, 0.01, 0.4, 10, 10.5, 3600]) h.record(s);
    const { buckets, sum } = h.counts();
    expect(buckets).toHaveLength(LATENESS_EDGES_S.length + 1);
    const at = (edge: number): number => buckets[LATENESS_EDGES_S.indexOf(edge as never)]!;
    expect([at(0.0005), at(0.001), at(0.005), at(0.01), at(0.5), at(10)]).toEqual([3, 1, 1, 1, 1, 1]);
    expect(buckets[LATENESS_EDGES_S.length]).toBe(2); // above the last edge
    expect(buckets.reduce((a, b) => a + b, 0)).toBe(10);
    // A negative sample (clock rounding) counts as 0, not below it.
    expect(sum).toBeCloseTo(0.0005 + 0.00051 + 0.003 + 0.01 + 0.4 + 10 + 10.5 + 3600, 9);
  });

  it('hands out copies: a later sample does not change counts already read', () => {
    const h = new LatenessHistogram();
    h.record(0.002);
    const before = h.counts();
    h.record(0.002);
    expect(before.buckets[LATENESS_EDGES_S.indexOf(0.002)]).toBe(1);
    expect(h.counts().buckets[LATENESS_EDGES_S.indexOf(0.002)]).toBe(2);
  });
});

describe('latenessFamily in /metrics', () => {
  it('renders one histogram per source: cumulative buckets ending at +Inf, the sum, and the count', () => {
    const a = new LatenessHistogram();
    const b = new LatenessHistogram();
    for (const s of [0.0001, 0.0001, 0.004, 0.3]) a.record(s);
    b.record(20);
    const text = renderPrometheus(new MetricsRegistry(), [
      latenessFamily('veer_test_lateness_seconds', 'Test lateness.', [
        { labels: { worker: '1' }, counts: a.counts() },
        { labels: { worker: '2' }, counts: b.counts() },
      ]),
    ]);
    const lines = text.split('\n').filter((l) => l.includes('veer_test_lateness_seconds'));
    expect(lines.slice(0, 2)).toEqual([
      '# HELP veer_test_lateness_seconds Test lateness.',
      '# TYPE veer_test_lateness_seconds histogram',
    ]);
    const value = (series: string): number => {
      const line = lines.find((l) => l.startsWith(`${series} `));
      if (line === undefined) throw new Error(`no ${series} in\n${lines.join('\n')}`);
      return Number(line.split(' ')[1]);
    };
    const bucket = (w: string, le: string): number =>
      value(`veer_test_lateness_seconds_bucket{worker="${w}",le="${le}"}`);
    expect([bucket('1', '0.0005'), bucket('1', '0.002'), bucket('1', '0.005'), bucket('1', '0.2')]).toEqual([
      2, 2, 3, 3,
    ]);
    expect([bucket('1', '0.5'), bucket('1', '10'), bucket('1', '+Inf')]).toEqual([4, 4, 4]);
    expect([bucket('2', '10'), bucket('2', '+Inf')]).toEqual([0, 1]);
    expect(value('veer_test_lateness_seconds_count{worker="1"}')).toBe(4);
    expect(value('veer_test_lateness_seconds_sum{worker="1"}')).toBeCloseTo(0.3042, 9);
    expect(value('veer_test_lateness_seconds_sum{worker="2"}')).toBe(20);
    // Cumulative: never decreasing along `le`, for every source.
    for (const w of ['1', '2']) {
      const les = [...LATENESS_EDGES_S.map(String), '+Inf'].map((le) => bucket(w, le));
      expect(les).toEqual([...les].sort((x, y) => x - y));
    }
  });
});
