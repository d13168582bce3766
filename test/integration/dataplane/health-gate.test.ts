// Health before traffic: with a healthCheck, a new target gets no traffic until it passed
// `healthyThreshold` probes; a rollout waits in `starting` for its canary (bounded by healthTimeout,
// then fails naming the target); a pool with no eligible target hands its share to the other pool,
// and with neither the answer is 503 no_healthy_targets - never a request to an unhealthy target.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { TestUpstream } from '../../helpers/upstream.js';
import { admin, http, service, useHarness, waitFor, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();

/** /healthz answers per `state`; everything else names the upstream. */
function withHealth(name: string, state: { healthy: boolean }) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url === '/healthz') return void res.writeHead(state.healthy ? 200 : 503).end(state.healthy ? 'ok' : 'sick');
    res.writeHead(200, { 'x-upstream': name }).end(name);
  };
}

const traffic = (u: TestUpstream): number => u.requests.filter((r) => r.url !== '/healthz').length;
const probes = (u: TestUpstream): number => u.requests.filter((r) => r.url === '/healthz').length;

async function healthUpstream(name: string, healthy: boolean) {
  const state = { healthy };
  const u = await h.upstream(name);
  u.behave({ handler: withHealth(name, state) });
  return { u, state };
}

const HC = { path: '/healthz', interval: '100ms', timeout: '200ms', healthyThreshold: 3, unhealthyThreshold: 2 };

interface Status {
  rollout: { phase: string; weight: number; reason: string | null } | null;
}

const status = async (v: TestVeer): Promise<Status> => (await admin<Status>(v, 'GET', '/v1/services/web')).json;

describe('health before traffic', () => {
  it('a static canary failing its health check gets no traffic; the rollout waits, then fails naming it', async () => {
    const stable = await healthUpstream('stable', true);
    const canary = await healthUpstream('canary', false);
    const v = await h.veer({
      services: [
        service('web', [stable.u.address], [], {
          healthCheck: HC,
          rollout: { steps: [50, 100], healthTimeout: '1500ms' },
        }),
      ],
    });
    const r = await admin<{ phase: string; weight: number }>(v, 'POST', '/v1/services/web/rollouts', {
      canary: { targets: [canary.u.address] },
    });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ phase: 'starting', weight: 0 });
    for (let i = 0; i < 20; i++) expect((await http(`${v.url}/`)).headers['x-upstream']).toBe('stable');
    await waitFor(async () => (await status(v)).rollout?.phase === 'rolled-back', 'the rollout to fail', 5_000, 25);
    const reason = (await status(v)).rollout?.reason ?? '';
    expect(reason).toContain(canary.u.address);
    expect(reason).toContain('status 503');
    expect(probes(canary.u)).toBeGreaterThan(0);
    expect(traffic(canary.u)).toBe(0);
  });

  it('a canary gets its first request only after healthyThreshold good probes', async () => {
    const stable = await healthUpstream('stable', true);
    const canary = await healthUpstream('canary', false);
    const v = await h.veer({
      services: [
        service('web', [stable.u.address], [], {
          healthCheck: HC,
          rollout: { steps: [100], stepInterval: '1m', healthTimeout: '10s' },
        }),
      ],
    });
    expect(
      (await admin(v, 'POST', '/v1/services/web/rollouts', { canary: { targets: [canary.u.address] } })).status,
    ).toBe(201);
    await waitFor(() => probes(canary.u) >= 2, 'the canary to be probed', 3_000, 10);
    expect((await status(v)).rollout?.phase).toBe('starting');
    canary.state.healthy = true;
    const good = probes(canary.u);
    await waitFor(async () => (await status(v)).rollout?.phase === 'progressing', 'the rollout to progress', 5_000, 10);
    expect(probes(canary.u) - good, 'probes passed before traffic').toBeGreaterThanOrEqual(HC.healthyThreshold);
    expect((await status(v)).rollout?.weight).toBe(100);
    expect((await http(`${v.url}/`)).headers['x-upstream']).toBe('canary');
  });

  it('a target added to a pool is pending: no traffic until it passed its probes', async () => {
    const a = await healthUpstream('a', true);
    const b = await healthUpstream('b', false);
    const v = await h.veer({ services: [service('web', [a.u.address], [], { healthCheck: HC })] });
    v.plane.update('web', { stable: [a.u.address, b.u.address].map(toTarget) });
    expect(v.plane.targets('web', 'stable').find((t) => t.id === b.u.address)?.health).toBe('pending');
    for (let i = 0; i < 20; i++) expect((await http(`${v.url}/`)).headers['x-upstream']).toBe('a');
    await waitFor(() => probes(b.u) >= 3, 'b to be probed a few times', 3_000, 10);
    expect(traffic(b.u)).toBe(0);
    b.state.healthy = true;
    await waitFor(
      () => v.plane.targets('web', 'stable').find((t) => t.id === b.u.address)?.health === 'healthy',
      'b to pass',
      5_000,
      10,
    );
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) seen.add(String((await http(`${v.url}/`)).headers['x-upstream']));
    expect(seen).toEqual(new Set(['a', 'b']));
  });

  it('a pool whose only target is unhealthy hands its share over; with neither, 503 no_healthy_targets', async () => {
    const stable = await healthUpstream('stable', true);
    const canary = await healthUpstream('canary', true);
    const v = await h.veer({
      services: [
        service('web', [stable.u.address], [canary.u.address], {
          weight: 50,
          healthCheck: HC,
          timeouts: { waitForTarget: '100ms' },
        }),
      ],
    });
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) seen.add(String((await http(`${v.url}/`)).headers['x-upstream']));
    expect(seen).toEqual(new Set(['stable', 'canary']));

    canary.state.healthy = false;
    await waitFor(
      () => v.plane.targets('web', 'canary')[0]?.health === 'unhealthy',
      'the canary to turn unhealthy',
      3_000,
      10,
    );
    const before = traffic(canary.u);
    for (let i = 0; i < 30; i++) expect((await http(`${v.url}/`)).headers['x-upstream']).toBe('stable');
    expect(traffic(canary.u)).toBe(before);

    stable.state.healthy = false;
    await waitFor(
      () => v.plane.targets('web', 'stable')[0]?.health === 'unhealthy',
      'the stable to turn unhealthy',
      3_000,
      10,
    );
    const total = traffic(canary.u) + traffic(stable.u);
    for (let i = 0; i < 5; i++) {
      // After waiting timeouts.waitForTarget for a target to turn healthy (target-wait.test.ts).
      const r = await http(`${v.url}/`);
      expect(r.status).toBe(503);
      expect(JSON.parse(r.text).error.code).toBe('no_healthy_targets');
    }
    expect(traffic(canary.u) + traffic(stable.u)).toBe(total);
  });

  it('at start veer listens once health-checked targets had their first verdict', async () => {
    const a = await healthUpstream('a', true);
    const v = await h.veer({ services: [service('web', [a.u.address], [], { healthCheck: HC })] });
    // No request between start and the first verdict is answered 503.
    const r = await http(`${v.url}/`);
    expect(r.status).toBe(200);
    expect(probes(a.u)).toBeGreaterThanOrEqual(HC.healthyThreshold);
  });
});

function toTarget(id: string) {
  const [host, port] = id.split(':') as [string, string];
  return { host, port: Number(port), id };
}
