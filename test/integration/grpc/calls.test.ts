// gRPC through veer with real @grpc/grpc-js clients and servers: every call shape, Trailers-Only
// errors, deadlines and cancellation, over h2c on the plain port and over h2 on the TLS port, to an
// h2c upstream. No buffering is proven by order of events: the server sends its second message
// only after the client has received the first; the client sends its second only after the echo.
import { afterAll, describe, expect, it } from 'vitest';
import { testCa } from '../../helpers/certs.js';
import { callUnary, echoClient, grpc, signal, startGrpcServer, within } from '../../helpers/grpc.js';
import type { EchoClient, EchoHandlers, Msg } from '../../helpers/grpc.js';
import { service, useHarness } from '../../helpers/veer.js';

const h = useHarness();
const ca = testCa();
afterAll(() => ca.remove());
const pair = ca.issue(['a.test']);

type Via = 'h2c' | 'tls';

async function through(via: Via, handlers: Partial<EchoHandlers>, extra: Record<string, unknown> = {}) {
  const up = await startGrpcServer(h, handlers);
  const v = await h.veer({
    services: [service('api', [up.address], [], { upstream: { protocol: 'h2c' }, ...extra })],
    tls: { certificates: [pair] },
  });
  const client: EchoClient =
    via === 'h2c' ? echoClient(h, v.port) : echoClient(h, v.tlsPort as number, { ca: ca.caPem, name: 'a.test' });
  return { up, v, client };
}

const soon = (ms = 5_000): grpc.CallOptions => ({ deadline: Date.now() + ms });

describe.each<Via>(['h2c', 'tls'])('gRPC via %s', (via) => {
  it('unary: the answer, and metadata both ways', async () => {
    const { client } = await through(via, {
      unary: (call, cb) => {
        const md = new grpc.Metadata();
        md.set('x-seen', String(call.metadata.get('x-asked')[0]));
        call.sendMetadata(md);
        cb(null, { echo: call.request });
      },
    });
    const md = new grpc.Metadata();
    md.set('x-asked', 'yes');
    const seen = signal<grpc.Metadata>();
    const reply = await within(
      new Promise<Msg | undefined>((resolve, reject) => {
        const call = client.unary({ n: 1 }, md, soon(), (e, r) => (e ? reject(e) : resolve(r)));
        call.on('metadata', seen.resolve);
      }),
      'the unary answer',
    );
    expect(reply).toEqual({ echo: { n: 1 } });
    expect((await within(seen.promise, 'response metadata')).get('x-seen')).toEqual(['yes']);
  });

  it('server streaming: message 1 reaches the client before the server sends message 2', async () => {
    const received = signal();
    const { client } = await through(via, {
      serverStream: (call) => {
        call.write({ i: 1 });
        void within(received.promise, 'the client to receive message 1').then(() => {
          call.write({ i: 2 });
          call.end();
        });
      },
    });
    const call = client.serverStream({}, new grpc.Metadata(), soon());
    const got: Msg[] = [];
    call.on('data', (m: Msg) => {
      got.push(m);
      if (got.length === 1) received.resolve();
    });
    const status = await within(new Promise<grpc.StatusObject>((r) => call.on('status', r)), 'the stream status');
    expect(status.code).toBe(grpc.status.OK);
    expect(got).toEqual([{ i: 1 }, { i: 2 }]);
  });

  it('client streaming: every message reaches the server, one answer comes back', async () => {
    const { client } = await through(via, {
      clientStream: (call, cb) => {
        let sum = 0;
        call.on('data', (m: Msg) => (sum += Number(m.n)));
        call.on('end', () => cb(null, { sum }));
      },
    });
    const reply = await within(
      new Promise<Msg | undefined>((resolve, reject) => {
        const call = client.clientStream(new grpc.Metadata(), soon(), (e, r) => (e ? reject(e) : resolve(r)));
        for (const n of [1, 2, 3, 4]) call.write({ n });
        call.end();
      }),
      'the client-streaming answer',
    );
    expect(reply).toEqual({ sum: 10 });
  });

  it('a server that answers before the client stream ends: the client gets the answer and its OK status', async () => {
    const { client } = await through(via, {
      clientStream: (call, cb) => call.once('data', (m: Msg) => cb(null, { first: m.n })),
    });
    const reply = await within(
      new Promise<Msg | undefined>((resolve, reject) => {
        const call = client.clientStream(new grpc.Metadata(), soon(), (e, r) => (e ? reject(e) : resolve(r)));
        call.write({ n: 7 }); // and no end: the answer comes while the client may still send
      }),
      'the early answer',
    );
    expect(reply).toEqual({ first: 7 });
  });

  it('bidirectional: full duplex, each echo arrives while the request stream is still open', async () => {
    const { client } = await through(via, {
      bidi: (call) => {
        call.on('data', (m: Msg) => call.write({ echo: m.n }));
        call.on('end', () => call.end());
      },
    });
    const call = client.bidi(new grpc.Metadata(), soon());
    const echoes: Msg[] = [];
    const next = (): Promise<Msg> => within(new Promise<Msg>((r) => call.once('data', r)), 'an echo');
    for (const n of [1, 2, 3]) {
      const echo = next();
      call.write({ n });
      echoes.push(await echo);
    }
    call.end();
    const status = await within(new Promise<grpc.StatusObject>((r) => call.on('status', r)), 'the bidi status');
    expect(status.code).toBe(grpc.status.OK);
    expect(echoes).toEqual([{ echo: 1 }, { echo: 2 }, { echo: 3 }]);
  });

  it('a Trailers-Only error reaches the client with its status, message and trailing metadata', async () => {
    const { client } = await through(via, {
      unary: (_call, cb) => {
        const md = new grpc.Metadata();
        md.set('x-why', 'gone');
        cb({ code: grpc.status.NOT_FOUND, details: 'no such thing: 100% sure', metadata: md });
      },
    });
    const { error } = await within(callUnary(client, {}, soon()), 'the failed call');
    expect(error?.code).toBe(grpc.status.NOT_FOUND);
    expect(error?.details).toBe('no such thing: 100% sure');
    expect(error?.metadata.get('x-why')).toEqual(['gone']);
  });

  it('a deadline passes through: the client gets DEADLINE_EXCEEDED and the upstream call is cancelled', async () => {
    const cancelled = signal();
    const { client } = await through(via, {
      unary: (call) => call.on('cancelled', () => cancelled.resolve()), // never answers
    });
    const { error } = await within(callUnary(client, {}, { deadline: Date.now() + 300 }), 'the call to expire');
    expect(error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await within(cancelled.promise, 'the upstream call to be cancelled');
  });

  it('a client cancel cancels the upstream stream', async () => {
    const cancelled = signal();
    const { client } = await through(via, {
      serverStream: (call) => {
        call.write({ i: 1 });
        call.on('cancelled', () => cancelled.resolve());
      },
    });
    // No deadline: the cancel is the only thing that can end the upstream call.
    const call = client.serverStream({}, new grpc.Metadata(), {});
    call.on('error', () => undefined);
    await within(new Promise((r) => call.once('data', r)), 'the first message');
    call.cancel();
    await within(cancelled.promise, "the upstream call's cancelled event");
  });

  it("a quiet stream within its deadline outlives veer's idle bounds; without a deadline they hold", async () => {
    const quiet: Partial<EchoHandlers> = {
      serverStream: (call) => {
        call.write({ i: 1 });
        // The server's own quiet spell under test (longer than the 200 ms bounds), not a wait of the test's.
        const t = setTimeout(() => {
          call.write({ i: 2 });
          call.end();
        }, 600);
        call.on('cancelled', () => clearTimeout(t));
      },
    };
    const { client } = await through(via, quiet, { timeouts: { header: '200ms', body: '200ms' } });
    const run = (opts: grpc.CallOptions) => {
      const call = client.serverStream({}, new grpc.Metadata(), opts);
      const got: Msg[] = [];
      call.on('data', (m: Msg) => got.push(m));
      call.on('error', () => undefined);
      return within(new Promise<grpc.StatusObject>((r) => call.on('status', r)), 'the stream to end').then((s) => ({
        code: s.code,
        got,
      }));
    };
    expect(await run(soon())).toEqual({ code: grpc.status.OK, got: [{ i: 1 }, { i: 2 }] });
    const cut = await run({});
    expect(cut.code).not.toBe(grpc.status.OK);
    expect(cut.got).toEqual([{ i: 1 }]);
  });

  it("veer's own errors are gRPC statuses: no target is UNAVAILABLE with veer's message", async () => {
    const up = await startGrpcServer(h, {});
    const v = await h.veer({
      services: [
        service('api', [up.address], [], { upstream: { protocol: 'h2c' }, match: { hosts: ['*'], pathPrefix: '/' } }),
        service('none', [], [], {
          upstream: { protocol: 'h2c' },
          match: { hosts: ['*'], pathPrefix: '/veer.test.Echo/Unary' },
          timeouts: { waitForTarget: 0 },
        }),
      ],
      tls: { certificates: [pair] },
    });
    const client =
      via === 'h2c' ? echoClient(h, v.port) : echoClient(h, v.tlsPort as number, { ca: ca.caPem, name: 'a.test' });
    const { error } = await within(callUnary(client, {}, soon()), 'the refused call');
    expect(error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(error?.details).toBe('the service has no available targets');
  });
});
