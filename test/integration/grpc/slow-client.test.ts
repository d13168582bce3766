// A client slower than its server: a streamed answer must reach it whole and in order, with its final
// status, however far behind it falls (within veer's bound). The server finishes (its last messages and
// trailers sent) while veer still holds what the client has not read: nothing may be dropped then.
import { connect, constants } from 'node:http2';
import { afterAll, describe, expect, it } from 'vitest';
import { testCa } from '../../helpers/certs.js';
import { echoClient, grpc, signal, startGrpcServer, within } from '../../helpers/grpc.js';
import type { Msg } from '../../helpers/grpc.js';
import { service, useHarness } from '../../helpers/veer.js';

const h = useHarness();
const ca = testCa();
afterAll(() => ca.remove());
const pair = ca.issue(['a.test']);
const COUNT = 120;
const PAD = 'x'.repeat(16 * 1024);

describe.each(['h2c', 'tls'] as const)('a slow gRPC client via %s', (via) => {
  it('gets every streamed message and the status after the server has already finished', async () => {
    let serverDone!: () => void;
    const finished = new Promise<void>((r) => (serverDone = r));
    const up = await startGrpcServer(h, {
      serverStream: (call) => {
        for (let i = 0; i < COUNT; i++) call.write({ i, pad: PAD });
        call.end();
        call.on('finish', serverDone);
      },
    });
    const v = await h.veer({
      services: [service('api', [up.address], [], { upstream: { protocol: 'h2c' } })],
      tls: { certificates: [pair] },
    });
    const client =
      via === 'h2c' ? echoClient(h, v.port) : echoClient(h, v.tlsPort as number, { ca: ca.caPem, name: 'a.test' });
    const call = client.serverStream({}, new grpc.Metadata(), { deadline: Date.now() + 20_000 });
    const got: number[] = [];
    const status = new Promise<grpc.StatusObject>((r) => call.on('status', r));
    call.on('data', (m: Msg) => {
      got.push(m.i as number);
      // Stop reading while the last messages (more than the flow-control windows between client and veer
      // hold, less than all windows together) are under way, until the server has sent its status.
      if (got.length === COUNT - 7) {
        call.pause();
        void within(finished, 'the server to finish', 15_000).then(() => call.resume());
      }
    });
    const s = await within(status, 'the stream status', 20_000);
    expect(s.code).toBe(grpc.status.OK);
    expect(got).toEqual(Array.from({ length: COUNT }, (_, i) => i));
  });

  it('a client that stops reading is cut once veer holds 16 MiB for it; the upstream call is cancelled', async () => {
    const cancelled = signal();
    const up = await startGrpcServer(h, {
      serverStream: (call) => {
        call.on('cancelled', () => cancelled.resolve());
        // 32 MiB, written as fast as the flow-control windows allow, bounded in count.
        let i = 0;
        const more = (): void => {
          while (i < 512 && !call.cancelled)
            if (!call.write({ i: i++, pad: PAD.repeat(4) })) return void call.once('drain', more);
          if (!call.cancelled) call.end();
        };
        more();
      },
    });
    const v = await h.veer({
      services: [service('api', [up.address], [], { upstream: { protocol: 'h2c' } })],
      tls: { certificates: [pair] },
    });
    // A raw HTTP/2 client that never reads: its window fills, and veer's copy of the answer grows.
    const session =
      via === 'h2c'
        ? connect(`http://127.0.0.1:${v.port}`)
        : connect(`https://127.0.0.1:${v.tlsPort}`, { ca: ca.caPem, servername: 'a.test' });
    h.defer(() => session.destroy());
    session.on('error', () => undefined);
    const frame = Buffer.from('{}');
    const head = Buffer.alloc(5);
    head.writeUInt32BE(frame.length, 1);
    const stream = session.request({
      ':method': 'POST',
      ':path': '/veer.test.Echo/ServerStream',
      ':authority': via === 'tls' ? 'a.test' : '127.0.0.1', // a.test over h2c would be redirected to https
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    stream.on('error', () => undefined);
    stream.pause();
    stream.end(Buffer.concat([head, frame]));
    await within(cancelled.promise, 'the upstream call to be cancelled', 20_000);
    // The client reads again: what veer had sent ends in a reset it cannot take for a complete answer.
    const closed = new Promise<number>((r) => stream.on('close', () => r(stream.rstCode ?? 0)));
    stream.resume();
    expect(await within(closed, 'the reset stream')).toBe(constants.NGHTTP2_ENHANCE_YOUR_CALM);
  });
});
