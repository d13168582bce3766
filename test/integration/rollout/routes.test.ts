// Route-by-route judging end to end: real upstreams, veer in-process, real traffic on several paths.
// The canary breaks one small endpoint (rolled back, the route named), or only the health-check path
// that a balancer polls through veer (excluded from judging: promoted).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { ServiceStatus } from '../../../src/api/ports.js';
import { isTerminal, type RolloutEvent, type Verdict } from '../../../src/domain/rollout.js';
import { waitFor } from '../../helpers/process.js';
import { startTraffic } from '../../helpers/traffic.js';
import { admin, http, service, useHarness, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();

// The absolute limit and the pool-wide practical gate are wide, so only a route's own test can fail
// the canary: its broken endpoint is 5% of the traffic. Steps last long enough for a few seconds of that
// endpoint's canary requests (a failure rests on four seconds of evidence, twice).
const POLICY = {
  steps: [20, 50, 100],
  stepInterval: '4s',
  analysisInterval: '250ms',
  minRequests: 20,
  drainTimeout: '2s',
  maxLatencyRatio: 5,
  maxErrorRate: 0.1,
  maxErrorRateIncrease: 0.1,
};

const status = async (v: TestVeer): Promise<ServiceStatus> =>
  (await admin<ServiceStatus>(v, 'GET', '/v1/services/web')).json;

/** Answers 500 on paths under `broken`, 200 elsewhere. */
const failing =
  (broken: string) =>
  (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead((req.url ?? '/').startsWith(broken) ? 500 : 200, { 'x-upstream': 'canary' });
    res.end('ok');
  };

async function rollOut(v: TestVeer, canary: string, paths: Array<[string, number]>): Promise<string> {
  const done = async (): Promise<boolean> => {
    const r = (await status(v)).rollout;
    return r !== null && isTerminal(r.phase);
  };
  const traffic = paths.map(([path, rps]) => startTraffic({ url: v.url, path, rps, maxMs: 30_000, until: done }));
  for (const t of traffic) h.defer(() => t.stop().catch(() => undefined));
  const first = traffic[0];
  await waitFor(() => (first?.snapshot().completed ?? 0) >= 50, { timeoutMs: 5_000, intervalMs: 10, what: 'warm-up' });
  const r = await admin(v, 'POST', '/v1/services/web/rollouts', { canary: { targets: [canary] } });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  await Promise.all(traffic.map((t) => t.done));
  return (await status(v)).rollout?.phase ?? 'none';
}

describe('route by route', () => {
  it('a canary breaking one small endpoint is rolled back, the route named', async () => {
    const stable = await h.upstream('stable');
    const canary = await h.upstream('canary', { handler: failing('/export') });
    const v = await h.veer({ services: [service('web', [stable.address], [], { rollout: POLICY })] });
    const phase = await rollOut(v, canary.address, [
      ['/api/items', 190],
      ['/export/all.csv', 10],
    ]);
    expect(phase).toBe('rolled-back');
    const events = (await admin<{ events: RolloutEvent[] }>(v, 'GET', '/v1/services/web/events?limit=1000')).json
      .events;
    const verdicts = events.flatMap((e) =>
      e.kind === 'analysis' && e.data?.verdict ? [e.data.verdict as Verdict] : [],
    );
    const failed = verdicts.filter((x) => x.result === 'fail');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]?.reason).toMatch(/route \/export: canary error rate 100\.00%/);
    // The verdict reports each route's evidence.
    expect(failed[0]?.routes?.map((r) => r.route).sort()).toEqual(['/api', '/export']);
  });

  it('a health-check path failing on the canary is proxied but never judged: promoted', async () => {
    const stable = await h.upstream('stable');
    const canary = await h.upstream('canary', { handler: failing('/healthz') });
    const v = await h.veer({ services: [service('web', [stable.address], [], { rollout: POLICY })] });
    const phase = await rollOut(v, canary.address, [
      ['/api/items', 160],
      ['/healthz', 40],
    ]);
    expect(phase).toBe('succeeded');
    // Counted in Prometheus all the same: the canary answered the health checks with 500.
    const metrics = (await http(`${v.adminUrl}/metrics`)).text;
    expect(metrics).toMatch(/veer_request_errors_total\{service="web",pool="canary",kind="5xx"\} [1-9]/);
  });
});
