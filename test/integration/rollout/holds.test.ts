// When the data cannot convict or clear the canary, the rollout holds: an incident that hits both
// pools alike is not blamed on the canary, and trickle traffic below minRequests is "not enough
// data" (never a pass) until the progress deadline pauses — or, if asked, rolls back.
import { describe, expect, it } from 'vitest';
import type { ServiceStatus } from '../../../src/api/ports.js';
import { isTerminal, type RolloutEvent } from '../../../src/domain/rollout.js';
import { waitFor } from '../../helpers/process.js';
import { startTraffic, type Traffic } from '../../helpers/traffic.js';
import { admin, service, useHarness, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();

// maxLatencyRatio 5: ~1 ms loopback latencies make the 1.5× p99 ratio a test of CPU noise (see canary.test.ts).
const POLICY = {
  steps: [10, 50, 100],
  stepInterval: '1s',
  analysisInterval: '250ms',
  minRequests: 40,
  drainTimeout: '2s',
  maxLatencyRatio: 5,
};

const status = async (v: TestVeer): Promise<ServiceStatus> =>
  (await admin<ServiceStatus>(v, 'GET', '/v1/services/web')).json;
const events = async (v: TestVeer): Promise<RolloutEvent[]> =>
  (await admin<{ events: RolloutEvent[] }>(v, 'GET', '/v1/services/web/events?limit=1000')).json.events;
const canaryTargets = (s: ServiceStatus): string[] => s.pools.canary.targets.map((t) => t.id);
const kinds = (es: RolloutEvent[]): string[] => es.map((e) => e.kind);
const everyFifthFails = (n: number): number => (n % 5 === 0 ? 503 : 200);

function traffic(v: TestVeer, rps: number, maxMs: number, until?: () => Promise<boolean>): Traffic {
  const t = startTraffic({ url: v.url, rps, maxMs, ...(until ? { until } : {}) });
  h.defer(() => t.stop().catch(() => undefined));
  return t;
}

async function startRollout(v: TestVeer, target: string, overrides: Record<string, unknown> = {}): Promise<void> {
  const r = await admin(v, 'POST', '/v1/services/web/rollouts', { canary: { targets: [target] }, rollout: overrides });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
}

describe('an incident on both pools', () => {
  it('is not blamed on the canary: the rollout holds and says the stable pool is over the limit', async () => {
    const stable = await h.upstream('stable', { status: everyFifthFails });
    const canary = await h.upstream('canary', { status: everyFifthFails });
    const v = await h.veer({ services: [service('web', [stable.address], [], { rollout: POLICY })] });
    const t = traffic(v, 200, 12_000);
    await waitFor(() => t.snapshot().completed >= 100, { timeoutMs: 5_000, intervalMs: 10, what: 'warm-up traffic' });
    await startRollout(v, canary.address);

    // Several whole-second analyses, each with ~20 canary and ~180 stable requests.
    await waitFor(async () => (await events(v)).filter((e) => e.kind === 'analysis').length >= 3, {
      timeoutMs: 8_000,
      intervalMs: 50,
      what: 'three analyses',
    });
    const s = await status(v);
    const report = await t.stop();
    expect(report.byUpstream.canary ?? 0).toBeGreaterThanOrEqual(40);
    expect(['progressing', 'paused']).toContain(s.rollout?.phase);
    expect(s.rollout?.step).toBe(0);
    expect(s.weight).toBe(10);
    expect(canaryTargets(s)).toEqual([canary.address]);
    const verdict = s.rollout?.lastVerdict;
    expect(verdict?.result).toBe('inconclusive');
    expect(verdict?.reason).toMatch(/stable pool/);
    expect(verdict?.stable.errorRate).toBeGreaterThan(0.1);
    expect(verdict?.checks.find((c) => c.name === 'error-rate')?.status).not.toBe('fail');

    const es = await events(v);
    const analyses = es.filter((e) => e.kind === 'analysis');
    expect(analyses.length).toBeGreaterThanOrEqual(3);
    for (const e of analyses) expect(e.message).toMatch(/^inconclusive: .*stable pool/);
    expect(kinds(es)).not.toContain('rolling-back');
    expect(kinds(es)).not.toContain('step');
  });
});

describe('trickle traffic below minRequests', () => {
  it('holds as inconclusive, then pauses at the progress deadline; never promoted', async () => {
    const stable = await h.upstream('stable');
    const canary = await h.upstream('canary');
    const v = await h.veer({
      services: [service('web', [stable.address], [], { rollout: { ...POLICY, progressDeadline: '3s' } })],
    });
    // 10 req/s at 10%: about one canary request a second, far below 40 per step.
    const t = traffic(v, 10, 10_000, async () => (await status(v)).rollout?.phase === 'paused');
    const started = Date.now();
    await startRollout(v, canary.address);

    const report = await t.done;
    const elapsed = Date.now() - started;
    expect(report.stoppedBy).toBe('predicate');
    expect(report.failures).toBe(0);
    expect(elapsed).toBeGreaterThanOrEqual(3_000);
    expect(elapsed).toBeLessThan(7_000);

    const s = await status(v);
    expect(s.rollout?.phase).toBe('paused');
    expect(s.rollout?.reason).toMatch(/progress deadline/);
    expect(s.rollout?.reason).toMatch(/not enough data/);
    expect(s.rollout?.step).toBe(0);
    expect(s.weight).toBe(10);

    const es = await events(v);
    const holds = es.filter((e) => e.kind === 'analysis');
    expect(holds.length).toBeGreaterThanOrEqual(1);
    for (const e of holds) expect(e.message).toMatch(/^inconclusive: not enough data/);
    // The first analysis warned that this traffic cannot give the step its requests before the deadline.
    expect(kinds(es)).toEqual(['started', 'canary-ready', 'warning', ...holds.map(() => 'analysis'), 'paused']);
    expect(es.find((e) => e.kind === 'warning')?.message).toMatch(
      /step 1 \(10%\) needs about \d+ s .* start at \d+% or more/,
    );

    // Paused means paused: no analysis advances it, whatever the clock and the data say. Traffic
    // that would clear a running step (minRequests on the canary, well past the analysis and step
    // intervals) changes nothing.
    const hits = canary.hits;
    const more = traffic(v, 400, 10_000, async () => canary.hits >= hits + 2 * POLICY.minRequests);
    expect((await more.done).stoppedBy).toBe('predicate');
    const later = await status(v);
    expect(later.rollout?.phase).toBe('paused');
    expect(later.rollout?.step).toBe(0);
    expect(later.weight).toBe(10);
    const after = kinds(await events(v));
    expect(after).not.toContain('step');
    expect(after).not.toContain('promoting');
  });

  it('with onDeadline: rollback, rolls back at the deadline instead', async () => {
    const stable = await h.upstream('stable');
    const canary = await h.upstream('canary');
    const v = await h.veer({
      services: [
        service('web', [stable.address], [], {
          rollout: { ...POLICY, progressDeadline: '3s', onDeadline: 'rollback' },
        }),
      ],
    });
    const t = traffic(v, 10, 10_000, async () => {
      const r = (await status(v)).rollout;
      return r !== null && isTerminal(r.phase);
    });
    const started = Date.now();
    await startRollout(v, canary.address);

    const report = await t.done;
    expect(report.stoppedBy).toBe('predicate');
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_000);
    const s = await status(v);
    expect(s.rollout?.phase).toBe('rolled-back');
    expect(s.rollout?.reason).toMatch(/progress deadline.*not enough data/);
    expect(s.weight).toBe(0);
    expect(s.pools.canary.targets).toEqual([]);
    const es = kinds(await events(v));
    expect(es).not.toContain('step');
    expect(es).not.toContain('promoting');
    expect(es.slice(-2)).toEqual(['rolling-back', 'rolled-back']);
  });

  it('traffic that stops after a passed step leaves nothing to judge: no promotion on stale data', async () => {
    const stable = await h.upstream('stable');
    const canary = await h.upstream('canary');
    const v = await h.veer({
      services: [service('web', [stable.address], [], { rollout: { ...POLICY, minRequests: 20 } })],
    });
    const t = traffic(v, 200, 15_000, async () => (await status(v)).rollout?.step === 1);
    await startRollout(v, canary.address);
    expect((await t.done).stoppedBy).toBe('predicate');
    const stoppedAt = Date.now();

    // Silence for well over a step interval: the step never gets the seconds of canary traffic a
    // verdict needs, however long it lasts.
    const empty = (e: RolloutEvent): boolean =>
      e.kind === 'analysis' &&
      /not enough data: (the canary had traffic in [0-3] s|canary served \d+ of \d+ requests) this step/.test(
        e.message,
      );
    const late = (e: RolloutEvent): boolean => empty(e) && Date.parse(e.at) - stoppedAt >= 5_000;
    await waitFor(async () => (await events(v)).some(late), {
      timeoutMs: 9_000,
      intervalMs: 50,
      what: 'an analysis 5 s after the traffic stopped, still holding',
    });
    const s = await status(v);
    expect(s.rollout?.phase).toBe('progressing');
    expect(s.rollout?.step).toBe(1);
    expect(s.weight).toBe(50);
    expect(s.rollout?.lastVerdict?.result).toBe('inconclusive');
    expect(kinds(await events(v))).not.toContain('promoting');
  });
});
