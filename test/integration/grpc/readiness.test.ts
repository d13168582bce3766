// Whether a target answers yet (a Docker target gets no traffic until it does), for an h2c target:
// a gRPC server answers no HTTP/1.1, so it is asked in HTTP/2. Real servers on 127.0.0.1:0.
import { describe, expect, it } from 'vitest';
import { parseTarget } from '../../../src/domain/target.js';
import { answersHttp } from '../../../src/dataplane/readiness.js';
import { Upstream, type UpstreamProtocol } from '../../../src/dataplane/upstream.js';
import { startGrpcServer } from '../../helpers/grpc.js';
import { useHarness } from '../../helpers/veer.js';

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
