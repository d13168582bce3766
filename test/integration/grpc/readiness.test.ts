// Whether an h2c target answers yet (a Docker target gets no traffic until it does): a gRPC server
// answers no HTTP/1.1, so it is asked in HTTP/2; and its active health check, an HTTP/2 GET over h2c.
// Real servers on 127.0.0.1:0.
import { describe, expect, it } from 'vitest';
import { parseTarget } from '../../../src/domain/target.js';
import { answersHttp } from '../../../src/dataplane/readiness.js';
import { Upstream, type UpstreamProtocol } from '../../../src/dataplane/upstream.js';
import type { ServiceStatus } from '../../../src/api/ports.js';
import { callUnary, echoClient, startGrpcServer } from '../../helpers/grpc.js';
import { admin, service, useHarness, waitFor, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();

function upstream(address: string, protocol: UpstreamProtocol): Upstream {
  const r = parseTarget(address);
  if (!r.ok) throw new Error(r.message);
  const opts = { connectTimeout: 1000, idleTimeout: 1000, connections: 1, headersTimeout: 1000, bodyTimeout: 1000 };
  const u = new Upstream(r.target, { ...opts, protocol });
  h.defer(() => u.close());
  return u;
}

describe('readiness of an h2c target', () => {
  it('a gRPC server answers the HTTP/2 probe, and not the HTTP/1.1 one', async () => {
    const grpcServer = await startGrpcServer(h, {});
    expect(await answersHttp(upstream(grpcServer.address, 'h2c'), 3_000)).toBeNull();
    expect(await answersHttp(upstream(grpcServer.address, 'http1'), 3_000)).not.toBeNull();
  });

  it('an HTTP/1.1 server does not pass for h2c', async () => {
    const http1 = await h.upstream('plain');
    expect(await answersHttp(upstream(http1.address, 'h2c'), 3_000)).toMatch(/HTTP\/2|closed/);
  });
});

describe('health checks of an h2c target', () => {
  const check = { path: '/healthz', interval: '200ms', timeout: '1s', healthyThreshold: 1, unhealthyThreshold: 1 };
  const health = async (v: TestVeer, name: string): Promise<string | undefined> =>
    (await admin<ServiceStatus>(v, 'GET', `/v1/services/${name}`)).json.pools.stable.targets[0]?.health;

  it('probes over HTTP/2: a gRPC server passes with expectStatusBelow 500 (it answers 415), not with 400', async () => {
    const up = await startGrpcServer(h, { unary: (_c, cb) => cb(null, { ok: true }) });
    const h2c = { upstream: { protocol: 'h2c' } };
    const v = await h.veer({
      services: [
        service('api', [up.address], [], { ...h2c, healthCheck: { ...check, expectStatusBelow: 500 } }),
        service('strict', [up.address], [], { ...h2c, healthCheck: check, match: { hosts: ['strict.test'] } }),
      ],
    });
    await waitFor(async () => (await health(v, 'api')) === 'healthy', 'the lenient check to pass');
    await waitFor(async () => (await health(v, 'strict')) === 'pending', 'the strict check to keep it out');
    const { error } = await callUnary(echoClient(h, v.port), {}, { deadline: Date.now() + 5_000 });
    expect(error).toBeNull();
  });
});
