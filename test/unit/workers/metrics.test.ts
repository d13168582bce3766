// Exact metrics across workers: what two workers record and ship, merged into the primary's windows,
// reads exactly as one window that saw all the traffic (per second, route groups, lifetime counters,
// veer's own answers), and nothing is shipped twice.
import { describe, expect, it } from 'vitest';
import { AnswerCounts } from '../../../src/dataplane/answers.js';
import { MetricsRegistry } from '../../../src/metrics/registry.js';
import { mergeReport } from '../../../src/workers/metrics-merge.js';
import { MetricsShipper, SHIP_AFTER_MS } from '../../../src/workers/metrics-ship.js';
import { parseMessage, toPrimarySchema } from '../../../src/workers/messages.js';

const T0 = 1_700_000_000_000;
const spec = { routes: ['/api'], excludePaths: [], base: '/' };

function worker() {
  const registry = new MetricsRegistry();
  registry.groups('web', spec);
  const answers = new AnswerCounts();
  return { registry, answers, shipper: new MetricsShipper(registry, answers) };
}

/** The same request recorded in a worker's window and in the reference window. */
function record(into: MetricsRegistry[], atMs: number, status: number, latencyMs: number, group = 0): void {
  for (const r of into) r.pool('web', 'stable').record(atMs, status, latencyMs, group);
}

function ship(from: ReturnType<typeof worker>, nowMs: number, primary: MetricsRegistry, answers: AnswerCounts) {
  const report = from.shipper.take(nowMs);
  // Through the wire format, as the primary receives it.
  const parsed = parseMessage(toPrimarySchema, structuredClone({ type: 'metrics', ...report }));
  if (!parsed.ok || parsed.msg.type !== 'metrics') throw new Error(parsed.ok ? 'not metrics' : parsed.why);
  return mergeReport(parsed.msg, { registry: primary, answers, known: () => true });
}

describe('worker metrics', () => {
  it("the failed requests' ids reach the primary's window once each, the newest five of them", () => {
    const [a, b] = [worker(), worker()];
    const primary = new MetricsRegistry();
    const answers = new AnswerCounts();
    const fail = (w: ReturnType<typeof worker>, at: number, id: string) => {
      const window = w.registry.pool('web', 'canary');
      window.record(at, 502, 5);
      window.failed.note(id);
    };
    fail(a, T0 + 10, 'a1');
    fail(b, T0 + 20, 'b1');
    ship(a, T0 + 1_000 + SHIP_AFTER_MS, primary, answers);
    ship(b, T0 + 1_000 + SHIP_AFTER_MS, primary, answers);
    const canary = primary.pool('web', 'canary');
    expect(canary.failed.recent()).toEqual(['a1', 'b1']);
    // Not again with the next report; of seven since, the newest five.
    for (let i = 2; i <= 8; i++) fail(a, T0 + 1_000 + i, `a${i}`);
    ship(a, T0 + 2_000 + SHIP_AFTER_MS, primary, answers);
    expect(canary.failed.recent()).toEqual(['a4', 'a5', 'a6', 'a7', 'a8']);
    const failedIn = (r: ReturnType<MetricsShipper['take']>) => r.pools.flatMap((p) => p.failed ?? []);
    expect(failedIn(a.shipper.take(T0 + 3_000 + SHIP_AFTER_MS))).toEqual([]);
    fail(a, T0 + 3_500, 'a9');
    expect(failedIn(a.shipper.take(T0 + 4_000 + SHIP_AFTER_MS))).toEqual(['a9']);
  });

  it('two workers shipped and merged read exactly as one window', () => {
    const [a, b] = [worker(), worker()];
    const reference = new MetricsRegistry();
    reference.groups('web', spec);
    const primary = new MetricsRegistry();
    primary.groups('web', spec);
    const answers = new AnswerCounts();
    for (let i = 0; i < 300; i++) {
      const at = T0 + i * 13;
      const status = i % 7 === 0 ? 503 : i % 11 === 0 ? 404 : 200;
      const registry = (i % 2 ? a : b).registry;
      // Each registry's own code for group 0 (codes carry their groups' epoch), or the pool alone.
      for (const r of [registry, reference])
        record([r], at, status, (i % 50) + 0.5, i % 3 === 0 ? r.groups('web', spec).code(0) : 0);
    }
    a.answers.note('no_route');
    a.answers.note('no_route');
    b.answers.note('client_closed');
    const end = T0 + 300 * 13;
    // Each worker reports once a second; the last report comes after the last second ended.
    for (let t = T0 + 1_000 + SHIP_AFTER_MS; t <= end + 2_000 + SHIP_AFTER_MS; t += 1_000) {
      expect(ship(a, t, primary, answers)).toBe(0);
      expect(ship(b, t, primary, answers)).toBe(0);
    }
    const want = reference.pool('web', 'stable');
    const got = primary.pool('web', 'stable');
    expect(got.seconds(T0 / 1000, end / 1000)).toEqual(want.seconds(T0 / 1000, end / 1000));
    expect(got.totals(T0, end)).toEqual(want.totals(T0, end));
    expect(got.totals(T0, end).routes?.['/api']?.requests).toBe(100);
    expect(got.lifetime()).toEqual(want.lifetime());
    expect(Object.fromEntries(answers.entries())).toEqual({ no_route: 2, client_closed: 1 });
    // Nothing new: a report of no data (it still says which seconds are whole), nothing counted twice.
    const empty = a.shipper.take(end + 10_000);
    expect(empty).toEqual({ through: Math.floor((end + 10_000 - SHIP_AFTER_MS) / 1000) - 1, pools: [], answers: [] });
    expect(ship(a, end + 11_000, primary, answers)).toBe(0);
    expect(got.lifetime().requests).toBe(300);
  });

  it("errors and 4xx by client reach the primary's window as every worker attributed them", () => {
    const [a, b] = [worker(), worker()];
    const primary = new MetricsRegistry();
    const answers = new AnswerCounts();
    for (let i = 0; i < 200; i++) {
      const status = i % 5 === 0 ? 503 : i % 3 === 0 ? 404 : 200;
      (i % 2 ? a : b).registry.pool('web', 'canary').record(T0 + i * 17, status, 3, 0, i % 6);
    }
    const end = T0 + 200 * 17;
    for (let t = T0 + 1_000 + SHIP_AFTER_MS; t <= end + 1_000 + SHIP_AFTER_MS; t += 1_000)
      for (const w of [a, b]) expect(ship(w, t, primary, answers)).toBe(0);
    const sum = (key: 'clients' | 'clients4xx'): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const w of [a, b])
        for (const [k, n] of Object.entries(w.registry.pool('web', 'canary').totals(T0, end)[key] ?? {}))
          out[k] = (out[k] ?? 0) + n;
      return out;
    };
    const got = primary.pool('web', 'canary').totals(T0, end);
    expect(Object.keys(sum('clients4xx')).length).toBeGreaterThan(1);
    expect(got.clients4xx).toEqual(sum('clients4xx'));
    expect(got.clients).toEqual(sum('clients'));
  });

  it('a second is reported once it ended, and the last report takes the current one too', () => {
    const w = worker();
    w.registry.pool('web', 'canary').record(T0 + 200, 200, 1);
    // T0 is a whole second: the record's second has not ended yet.
    expect(w.shipper.take(T0 + 900)?.pools[0]?.seconds).toEqual([]);
    w.registry.pool('web', 'canary').record(T0 + 950, 500, 1);
    const last = w.shipper.take(T0 + 960, true);
    expect(last?.pools[0]?.seconds.map((s) => [s.sec, s.requests, s.errors])).toEqual([[T0 / 1000, 2, 1]]);
    expect(last?.pools[0]?.lifetime.requests).toBe(1);
  });

  it('a quiet window costs nothing, and a second is shipped once it ends even with nothing new since', () => {
    const w = worker();
    const stable = w.registry.pool('web', 'stable');
    for (let i = 0; i < 200; i++) w.registry.pool(`idle-${i}`, 'stable');
    const first = w.shipper.take(T0 - 5_000);
    expect(first.pools).toEqual([]);
    stable.record(T0 + 200, 200, 1);
    // The record's second has not ended: its lifetime growth goes now, the second later.
    const early = w.shipper.take(T0 + 900);
    expect(early.pools.map((p) => [p.service, p.seconds.length, p.lifetime.requests])).toEqual([['web', 0, 1]]);
    // Nothing written since, but the second ended: it is shipped (once).
    const settled = w.shipper.take(T0 + 1_000 + SHIP_AFTER_MS);
    expect(settled.pools.map((p) => [p.service, p.seconds.map((s) => s.sec), p.lifetime.requests])).toEqual([
      ['web', [T0 / 1000], 0],
    ]);
    expect(w.shipper.take(T0 + 2_000 + SHIP_AFTER_MS).pools).toEqual([]);
    // Quiet for a while, then a request: only its second goes.
    stable.record(T0 + 7_300, 503, 2);
    const later = w.shipper.take(T0 + 8_000 + SHIP_AFTER_MS);
    expect(later.pools.map((p) => [p.seconds.map((s) => [s.sec, s.errors]), p.lifetime.errors])).toEqual([
      [[[T0 / 1000 + 7, 1]], 1],
    ]);
    // A drain cut writes no second, but it is news.
    stable.recordDrainCut();
    expect(w.shipper.take(T0 + 9_000 + SHIP_AFTER_MS).pools.map((p) => p.lifetime.drainCut)).toEqual([1]);
    expect(w.shipper.take(T0 + 10_000 + SHIP_AFTER_MS).pools).toEqual([]);
  });

  it('a malformed report is refused with the field that is wrong', () => {
    const bad = parseMessage(toPrimarySchema, {
      type: 'metrics',
      through: 5,
      pools: [{ service: 'web', pool: 'blue', seconds: [], lifetime: {} }],
      answers: [],
    });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.why).toContain('pools.0.pool');
    expect(parseMessage(toPrimarySchema, { type: 'nope' }).ok).toBe(false);
    expect(parseMessage(toPrimarySchema, null).ok).toBe(false);
  });
});
