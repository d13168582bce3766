// gRPC for tests with @grpc/grpc-js and no proto files: one generic service whose messages are JSON
// buffers, a real server on 127.0.0.1 port 0 (insecure), and clients for veer's plain port (h2c)
// or its TLS port (h2 over ALPN, trusting the test CA). Servers and clients close in afterEach.
import * as grpc from '@grpc/grpc-js';
import type { Harness } from './veer.js';

export type Msg = Record<string, unknown>;

const json = {
  serialize: (m: Msg): Buffer => Buffer.from(JSON.stringify(m)),
  deserialize: (b: Buffer): Msg => JSON.parse(b.toString()) as Msg,
};

function method(path: string, requestStream: boolean, responseStream: boolean) {
  return {
    path: `/veer.test.Echo/${path}`,
    requestStream,
    responseStream,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  };
}

export const ECHO = {
  unary: method('Unary', false, false),
  serverStream: method('ServerStream', false, true),
  clientStream: method('ClientStream', true, false),
  bidi: method('Bidi', true, true),
} satisfies grpc.ServiceDefinition;

export type EchoHandlers = {
  unary: grpc.handleUnaryCall<Msg, Msg>;
  serverStream: grpc.handleServerStreamingCall<Msg, Msg>;
  clientStream: grpc.handleClientStreamingCall<Msg, Msg>;
  bidi: grpc.handleBidiStreamingCall<Msg, Msg>;
};

export interface EchoClient extends grpc.Client {
  unary(req: Msg, md: grpc.Metadata, opts: grpc.CallOptions, cb: grpc.requestCallback<Msg>): grpc.ClientUnaryCall;
  serverStream(req: Msg, md?: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientReadableStream<Msg>;
  clientStream(
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: grpc.requestCallback<Msg>,
  ): grpc.ClientWritableStream<Msg>;
  bidi(md?: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientDuplexStream<Msg, Msg>;
}

const EchoClientCtor = grpc.makeGenericClientConstructor(ECHO, 'Echo') as unknown as new (
  address: string,
  creds: grpc.ChannelCredentials,
  opts?: grpc.ClientOptions,
) => EchoClient;

/** Handlers a test does not give answer UNIMPLEMENTED. */
function unimplemented(): grpc.ServiceError {
  return Object.assign(new Error('not in this test'), {
    code: grpc.status.UNIMPLEMENTED,
    details: '',
    metadata: new grpc.Metadata(),
  });
}

export async function startGrpcServer(
  h: Harness,
  handlers: Partial<EchoHandlers>,
): Promise<{ address: string; server: grpc.Server }> {
  const server = new grpc.Server();
  server.addService(ECHO, {
    unary: handlers.unary ?? ((_c, cb) => cb(unimplemented())),
    serverStream: handlers.serverStream ?? ((c) => c.emit('error', unimplemented())),
    clientStream: handlers.clientStream ?? ((_c, cb) => cb(unimplemented())),
    bidi: handlers.bidi ?? ((c) => c.emit('error', unimplemented())),
  } satisfies EchoHandlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  h.defer(() => server.forceShutdown());
  return { address: `127.0.0.1:${port}`, server };
}

/** A client of veer's plain port (h2c prior knowledge), or of its TLS port when `tls` is given. */
export function echoClient(h: Harness, port: number, tls?: { ca: string; name: string }): EchoClient {
  const creds = tls ? grpc.credentials.createSsl(Buffer.from(tls.ca)) : grpc.credentials.createInsecure();
  const opts: grpc.ClientOptions = tls
    ? { 'grpc.ssl_target_name_override': tls.name, 'grpc.default_authority': tls.name }
    : {};
  const client = new EchoClientCtor(`127.0.0.1:${port}`, creds, opts);
  h.defer(() => client.close());
  return client;
}

/** One unary call's outcome: the answer, or the status it failed with. */
export function callUnary(
  client: EchoClient,
  req: Msg,
  opts: grpc.CallOptions = {},
): Promise<{ reply: Msg | undefined; error: grpc.ServiceError | null }> {
  return new Promise((resolve) =>
    client.unary(req, new grpc.Metadata(), opts, (error, reply) => resolve({ reply, error })),
  );
}

export { grpc };

/** `p`, or a failure naming `what` once `ms` passed: every wait in these tests has a bound. */
export function within<T>(p: Promise<T>, what: string, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** A promise and its resolver, for one side of a call to wait on the other. */
export function signal<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export interface GrpcTrafficReport {
  /** Calls ended, by gRPC status code. */
  byCode: Record<number, number>;
  /** Successful answers by the `from` field the test servers put in them. */
  byFrom: Record<string, number>;
  stoppedBy: 'predicate' | 'time';
}

/**
 * Unary calls at about `rps` until `until` holds or `maxMs` passed (whichever first), with at most
 * `maxInFlight` outstanding (due calls beyond it are skipped): bounded in count and time.
 */
export async function grpcTraffic(
  client: EchoClient,
  opts: { rps: number; maxMs: number; until: () => Promise<boolean>; maxInFlight?: number },
): Promise<GrpcTrafficReport> {
  const report: GrpcTrafficReport = { byCode: {}, byFrom: {}, stoppedBy: 'time' };
  const started = Date.now();
  const maxInFlight = opts.maxInFlight ?? 50;
  const pending = new Set<Promise<void>>();
  let sent = 0;
  const tick = (): void => {
    // Counted up to maxMs only: a tick that runs late on a loaded machine never sends past the bound.
    const due = Math.floor((Math.min(Date.now() - started, opts.maxMs) / 1000) * opts.rps);
    while (sent < due && pending.size < maxInFlight) {
      sent++;
      const call = callUnary(client, {}, { deadline: Date.now() + 5_000 }).then(({ reply, error }) => {
        pending.delete(call);
        const code = error?.code ?? grpc.status.OK;
        report.byCode[code] = (report.byCode[code] ?? 0) + 1;
        const from = String(reply?.from ?? 'none');
        if (error === null) report.byFrom[from] = (report.byFrom[from] ?? 0) + 1;
      });
      pending.add(call);
    }
    sent = Math.max(sent, due); // skipped, not owed
  };
  const timer = setInterval(tick, 10);
  try {
    while (Date.now() - started < opts.maxMs) {
      if (await opts.until()) {
        report.stoppedBy = 'predicate';
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    clearInterval(timer);
  }
  // Every call has a 5 s deadline, so this wait is bounded too.
  await Promise.all(pending);
  return report;
}
