import { afterAll, expect, it } from 'vitest';
import { testCa } from '../../helpers/certs.js';
import { callUnary, echoClient, startGrpcServer } from '../../helpers/grpc.js';
import { service, useHarness } from '../../helpers/veer.js';

const h = useHarness();
const ca = testCa();
afterAll(() => ca.remove());
const pair = ca.issue(['a.test']);

it('unary over tls', async () => {
  const up = await startGrpcServer(h, { unary: (c, cb) => cb(null, { echo: c.request }) });
  const v = await h.veer({
    services: [service('api', [up.address], [], { upstream: { protocol: 'h2c' } })],
    tls: { certificates: [pair] },
  });
  const client = echoClient(h, v.tlsPort as number, { ca: ca.caPem, name: 'a.test' });
  const r = await callUnary(client, { a: 1 }, { deadline: Date.now() + 5000 });
  expect(r.error).toBeNull();
  expect(r.reply).toEqual({ echo: { a: 1 } });
});

it('unary over h2c', async () => {
  const up = await startGrpcServer(h, { unary: (c, cb) => cb(null, { echo: c.request }) });
  const v = await h.veer({ services: [service('api', [up.address], [], { upstream: { protocol: 'h2c' } })] });
  const client = echoClient(h, v.port);
  const r = await callUnary(client, { a: 1 }, { deadline: Date.now() + 5000 });
  expect(r.error).toBeNull();
  expect(r.reply).toEqual({ echo: { a: 1 } });
});
