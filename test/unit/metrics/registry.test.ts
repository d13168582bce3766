import { describe, expect, it } from 'vitest';
import { BUCKET_RELATIVE_WIDTH, bucketIndex } from '../../../src/metrics/histogram.js';
import { MetricsRegistry, summarize, windowStartMs } from '../../../src/metrics/registry.js';
import { emptyTotals } from '../../../src/metrics/window.js';

const T0 = 1_700_000_000_000;

describe('summarize', () => {
  it('is all zeros for no traffic', () => {
    expect(summarize(emptyTotals())).toEqual({
      requests: 0,
      errors: 0,
      connectErrors: 0,
      timeouts: 0,
      broken: 0,
      errorRate: 0,
      p50Ms: 0,
      p95Ms: 0,
      p99Ms: 0,
    });
  });

  it('computes the error rate and percentiles from the histogram', () => {
    const t = emptyTotals();
    t.requests = 100;
    t.errors = 3;
    t.latency[bucketIndex(10)] = 90;
    t.latency[bucketIndex(200)] = 9;
    t.latency[bucketIndex(2000)] = 1;
    const s = summarize(t);
    expect(s.errorRate).toBeCloseTo(0.03, 12);
    expect(Math.abs(s.p50Ms - 10) / 10).toBeLessThan(BUCKET_RELATIVE_WIDTH);
    expect(Math.abs(s.p95Ms - 200) / 200).toBeLessThan(BUCKET_RELATIVE_WIDTH);
    expect(Math.abs(s.p99Ms - 200) / 200).toBeLessThan(BUCKET_RELATIVE_WIDTH);
  });
});

describe('MetricsRegistry', () => {
  it('returns the same window for the same (service, pool) and distinct ones otherwise', () => {
    const r = new MetricsRegistry({ seconds: 30 });
    const a = r.pool('web', 'stable');
    expect(r.pool('web', 'stable')).toBe(a);
    expect(r.pool('web', 'canary')).not.toBe(a);
    expect(r.pool('api', 'stable')).not.toBe(a);
    expect(a.size).toBe(30);
  });

  it('summarises the last windowMs of whole seconds, the current one included', () => {
    expect(windowStartMs(30_000, T0 + 30_400)).toBe(T0 + 1000);
    const r = new MetricsRegistry();
    const w = r.pool('web', 'canary');
    w.record(T0, 200, 5); // 31 s before `now`'s second: outside a 30 s window
    w.record(T0 + 1000, 500, 5);
    w.recordFailure(T0 + 30_000, 'timeout', 5000);
    const s = r.summary('web', 'canary', 30_000, T0 + 30_400);
    expect(s).toMatchObject({ requests: 2, errors: 2, timeouts: 1, connectErrors: 0, errorRate: 1 });
    expect(r.summary('web', 'stable', 30_000, T0 + 30_400).requests).toBe(0);
  });

  it('reads an unknown service as empty without creating it, lists both pools, and removes', () => {
    const r = new MetricsRegistry();
    expect(r.summary('ghost', 'stable', 10_000, T0).requests).toBe(0);
    expect(r.entries()).toEqual([]);
    r.pool('web', 'canary');
    r.pool('api', 'stable');
    expect(r.entries().map((e) => `${e.service}/${e.pool}`)).toEqual([
      'web/stable',
      'web/canary',
      'api/stable',
      'api/canary',
    ]);
    expect(r.entries()[1]?.window).toBe(r.pool('web', 'canary'));
    r.remove('web');
    expect(r.entries().map((e) => e.service)).toEqual(['api', 'api']);
    expect(r.summary('web', 'canary', 10_000, T0).requests).toBe(0);
  });
});
