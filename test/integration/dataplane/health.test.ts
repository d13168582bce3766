// Active health checks against real upstreams: a target whose /healthz fails stops getting traffic
// and comes back once it passes again; the admin API reports it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { admin, http, service, useHarness, waitFor, type TestVeer } from '../../helpers/veer.js';
import type { TestUpstream } from '../../helpers/upstream.js';

const h = useHarness();

/** Always the first target when both are eligible (the balancer's tie goes to its first draw). */
const firstPick = (): number => 0;

interface TargetView {
  id: string;
  healthy: boolean;
  ejected: boolean;
}

async function stableTargets(v: TestVeer): Promise<TargetView[]> {
  const r = await admin<{ pools: { stable: { targets: TargetView[] } } }>(v, 'GET', '/v1/services/web');
  expect(r.status).toBe(200);
  return r.json.pools.stable.targets;
}

function withHealth(name: string, state: { healthy: boolean }) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url === '/healthz') return void res.writeHead(state.healthy ? 200 : 503).end(state.healthy ? 'ok' : 'sick');
    res.writeHead(200, { 'x-upstream': name }).end(name);
  };
}

const traffic = (u: TestUpstream): number => u.requests.filter((r) => r.url !== '/healthz').length;

describe('active health checks', () => {
  it('takes a failing target out of rotation and brings it back when it recovers', async () => {
    const aState = { healthy: true };
    const a = await h.upstream('a');
    const b = await h.upstream('b');
    a.behave({ handler: withHealth('a', aState) });
    b.behave({ handler: withHealth('b', { healthy: true }) });
    const v = await h.veer({
      services: [
        service('web', [a.address, b.address], [], {
          healthCheck: {
            path: '/healthz',
            interval: '100ms',
            timeout: '100ms',
            unhealthyThreshold: 2,
            healthyThreshold: 2,
          },
        }),
      ],
      random: firstPick,
    });
    await waitFor(
      () => a.requests.some((r) => r.url === '/healthz' && r.headers['user-agent'] === 'veer-health'),
      'a first probe of a',
      3_000,
    );
    // The probe's answer is read a moment after the upstream saw it: wait for the verdict, not the request.
    await waitFor(async () => (await stableTargets(v)).every((t) => t.healthy), 'both targets healthy', 3_000, 25);
    expect((await http(`${v.url}/`)).headers['x-upstream']).toBe('a');

    aState.healthy = false;
    await waitFor(async () => (await stableTargets(v))[0]?.healthy === false, 'a to be reported unhealthy', 3_000, 25);
    expect(await stableTargets(v)).toEqual([
      expect.objectContaining({ id: a.address, healthy: false }),
      expect.objectContaining({ id: b.address, healthy: true }),
    ]);
    expect(v.plane.targets('web', 'stable')[0]?.lastHealthError).toBe('status 503');
    const before = traffic(a);
    for (let i = 0; i < 10; i++) expect((await http(`${v.url}/`)).headers['x-upstream']).toBe('b');
    expect(traffic(a)).toBe(before);
    expect(traffic(b)).toBe(10);

    aState.healthy = true;
    await waitFor(
      async () => (await stableTargets(v))[0]?.healthy === true,
      'a to be reported healthy again',
      3_000,
      25,
    );
    expect((await http(`${v.url}/`)).headers['x-upstream']).toBe('a');
    expect(traffic(a)).toBe(before + 1);
  });

  it('counts a probe that times out as a failure', async () => {
    const slowState = { hang: false };
    const a = await h.upstream('a');
    const b = await h.upstream('b');
    a.behave({
      handler: (req, res) => {
        if (req.url === '/healthz' && slowState.hang) return void setTimeout(() => res.end('late'), 1_000);
        res.writeHead(200, { 'x-upstream': 'a' }).end('a');
      },
    });
    const v = await h.veer({
      services: [
        service('web', [a.address, b.address], [], {
          healthCheck: { interval: '100ms', timeout: '100ms', unhealthyThreshold: 2, healthyThreshold: 2 },
        }),
      ],
      random: firstPick,
    });
    slowState.hang = true;
    await waitFor(async () => (await stableTargets(v))[0]?.healthy === false, 'a to be reported unhealthy', 3_000, 25);
    expect((await http(`${v.url}/`)).headers['x-upstream']).toBe('b');
  });
});
