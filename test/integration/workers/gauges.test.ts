// `workers: 2`: what the workers hold now reaches the primary's /metrics and /v1/workers. Requests held
// by a slow upstream on both workers show in veer_inflight_requests and each target's outstanding
// requests, and the access log's line counter counts every worker's lines. Each worker's own event loop
// delay shows too (a worker stopped for a moment, not its sibling or the primary), over its last window
// and counted since it started.
import { describe, expect, it } from 'vitest';
import { stopFor, waitFor } from '../../helpers/process.js';
import { metricsText, sample, startWorkersVeer, workersOf, WORKERS_TEST_MS } from '../../helpers/workers.js';
import { http, service, useHarness } from '../../helpers/veer.js';

const h = useHarness();

/** The sum of every sample of `name` (all label sets). */
function total(text: string, name: string): number {
  const lines = text.split('\n').filter((l) => l.startsWith(`${name}{`));
  return lines.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

describe('workers: 2, gauges', { timeout: WORKERS_TEST_MS }, () => {
  it('in-flight and outstanding requests on both workers, and every access line, show in /metrics', async () => {
    const up = await h.upstream('web-upstream');
    const v = await startWorkersVeer(h, {
      services: [service('web', [up.address])],
      accessLog: { enabled: true, output: 'stdout' },
    });
    // Each request on a connection of its own: the primary hands connections to the workers in turn.
    for (let i = 0; i < 6; i++) expect((await http(v.dataUrl)).status).toBe(200);
    // Settled: the same count in two reads more than a report (1 s) apart.
    let seen: { n: number; at: number } | null = null;
    const linesBefore = await waitFor(
      async () => {
        const n = sample(await metricsText(v), 'veer_access_log_lines_total');
        if (n === null || n < 6) return null;
        if (seen !== null && seen.n === n && Date.now() - seen.at > 1_100) return n;
        if (seen?.n !== n) seen = { n, at: Date.now() };
        return null;
      },
      { what: 'the first access lines counted', timeoutMs: 10_000 },
    );

    up.behave({ delayMs: 6_000 });
    const slow = Array.from({ length: 4 }, () => http(v.dataUrl));
    const held = await waitFor(
      async () => {
        const [text, w] = [await metricsText(v), await workersOf(v)];
        const perWorker = w.workers.map((x) => x.inFlight ?? 0);
        const both = perWorker.length === 2 && perWorker.every((n) => n > 0);
        return sample(text, 'veer_inflight_requests') === 4 && both ? { text, perWorker } : null;
      },
      { what: '4 requests in flight on both workers', timeoutMs: 5_000 },
    );
    expect(held.perWorker.reduce((a, b) => a + b, 0)).toBe(4);
    expect(total(held.text, 'veer_target_outstanding_requests')).toBe(4);

    expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const after = await waitFor(
      async () => {
        const text = await metricsText(v);
        const idle = sample(text, 'veer_inflight_requests') === 0;
        return idle && sample(text, 'veer_access_log_lines_total') === linesBefore + 4 ? text : null;
      },
      { what: 'the gauges back to 0 and 4 more lines counted', timeoutMs: 10_000 },
    );
    expect(total(after, 'veer_target_outstanding_requests')).toBe(0);
    expect(sample(after, 'veer_access_log_dropped_total')).toBe(0);
  });

  it("each worker's own loop delay: a worker stopped for 400 ms shows it, in /metrics and /v1/workers", async () => {
    const up = await h.upstream('web-upstream');
    const v = await startWorkersVeer(h, { services: [service('web', [up.address])] });
    const delay = (text: string, worker: number, q: string): number | null =>
      sample(text, 'veer_worker_event_loop_delay_seconds', `{worker="${worker}",quantile="${q}"}`);
    const [a, b] = (await workersOf(v)).workers;
    if (a === undefined || b === undefined) throw new Error('expected 2 workers');
    // The worker's loop stands still while the process is stopped: its monitor's next tick comes late.
    await stopFor(a.pid, 400);
    // Its 10 s window ends, then its next report (once a second) carries it; bounded by a few windows.
    const seen = new Set<string>();
    const text = await waitFor(
      async () => {
        const t = await metricsText(v);
        seen.add(`${delay(t, a.id, '1')}/${delay(t, b.id, '1')}`);
        return (delay(t, a.id, '1') ?? 0) >= 0.3 && delay(t, b.id, '1') !== null ? t : null;
      },
      { what: "the stopped worker's loop delay", timeoutMs: 45_000, intervalMs: 250 },
    ).catch(async (e: unknown) => {
      // What the primary showed meanwhile (a's / b's largest delay), the workers, and veer's last words.
      const view = JSON.stringify(await workersOf(v));
      throw new Error(`${String(e)}\nseen: ${[...seen].join(' ')}\nworkers: ${view}\n${v.output().slice(-2000)}`);
    });
    for (const w of [a.id, b.id]) {
      const qs = ['0.5', '0.9', '0.99', '0.999', '1'].map((q) => delay(text, w, q) as number);
      expect(
        qs.every((x, i) => x >= 0 && (i === 0 || x >= (qs[i - 1] as number))),
        `worker ${w}: ${qs}`,
      ).toBe(true);
    }
    // Every sample since each worker started, too: the stopped one has a sample above 200 ms.
    const lateness = (w: number, series: string): number =>
      sample(text, `veer_worker_event_loop_lateness_seconds_${series}`, `{worker="${w}"}`) ?? -1;
    const upTo = (w: number, le: string): number =>
      sample(text, 'veer_worker_event_loop_lateness_seconds_bucket', `{worker="${w}",le="${le}"}`) ?? -1;
    expect(lateness(a.id, 'count') - upTo(a.id, '0.2')).toBeGreaterThanOrEqual(1);
    expect(lateness(a.id, 'sum')).toBeGreaterThanOrEqual(0.3);
    for (const w of [a.id, b.id]) expect(upTo(w, '+Inf')).toBe(lateness(w, 'count'));
    expect(lateness(b.id, 'count')).toBeGreaterThan(100); // 10 s windows of 10 ms samples went by
    const view = await workersOf(v);
    expect(view.workers.map((w) => typeof w.loopDelayP99Ms)).toEqual(['number', 'number']);
  });
});
