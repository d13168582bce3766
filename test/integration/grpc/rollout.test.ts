// Canary rollouts of a gRPC service judged by grpc-status: real @grpc/grpc-js servers behind an h2c
// upstream, gRPC traffic through veer's plain port (h2c), and the rollout driven by its own timers.
// A canary answering UNAVAILABLE (with HTTP 200, as gRPC does) is rolled back; a healthy one is promoted.
import { describe, expect, it } from 'vitest';
import { echoClient, grpc, grpcTraffic, startGrpcServer, type EchoHandlers } from '../../helpers/grpc.js';
import { admin, service, useHarness } from '../../helpers/veer.js';
import { POLICY, status, terminal } from '../rollout/probes.js';

const h = useHarness();

const answers = (from: string): Partial<EchoHandlers> => ({ unary: (_c, cb) => cb(null, { from }) });
const unavailable: Partial<EchoHandlers> = {
  unary: (_c, cb) => cb({ code: grpc.status.UNAVAILABLE, details: 'canary is broken' }),
};

async function rollout(canaryHandlers: Partial<EchoHandlers>) {
  const stable = await startGrpcServer(h, answers('stable'));
  const canary = await startGrpcServer(h, canaryHandlers);
  const v = await h.veer({
    services: [service('web', [stable.address], [], { upstream: { protocol: 'h2c' }, rollout: POLICY })],
  });
  const client = echoClient(h, v.port);
  let started = false;
  const traffic = grpcTraffic(client, {
    rps: 200,
    maxMs: 25_000,
    until: async () => started && (await terminal(v)),
  });
  const r = await admin<{ phase: string }>(v, 'POST', '/v1/services/web/rollouts', {
    canary: { targets: [canary.address] },
  });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  started = true;
  return { v, stable, canary, report: await traffic };
}

describe('canary rollout of a gRPC service', () => {
  it('rolls back a canary whose calls end UNAVAILABLE', async () => {
    const { v, stable, report } = await rollout(unavailable);
    expect(report.stoppedBy).toBe('predicate');
    const s = await status(v);
    expect(s.rollout?.phase).toBe('rolled-back');
    expect(s.rollout?.reason).toMatch(/error rate/);
    expect(s.pools.stable.targets.map((t) => t.id)).toEqual([stable.address]);
    // The canary's failures were gRPC statuses over HTTP 200: what rolled it back is grpc-status.
    expect(report.byCode[grpc.status.UNAVAILABLE] ?? 0).toBeGreaterThan(0);
    expect(report.byFrom.stable ?? 0).toBeGreaterThan(0);
  });

  it('promotes a healthy canary, judged by the same calls', async () => {
    const { v, canary, report } = await rollout(answers('canary'));
    expect(report.stoppedBy).toBe('predicate');
    const s = await status(v);
    expect(s.rollout?.phase).toBe('succeeded');
    expect(s.pools.stable.targets.map((t) => t.id)).toEqual([canary.address]);
    expect(Object.keys(report.byCode)).toEqual([String(grpc.status.OK)]);
    expect(report.byFrom.canary ?? 0).toBeGreaterThan(50);
  });
});
