// What gRPC relies on, checked on the wire with node:http2 on both sides of veer (an h2c client on
// the plain port, an h2c upstream): a Trailers-Only answer keeps END_STREAM on its one HEADERS frame,
// trailers pass through, `te: trailers` reaches the upstream while hop-by-hop fields never do; and
// curl's h2c prior knowledge reaches an HTTP/1.1 upstream through the plain port.
import { execFile } from 'node:child_process';
import {
  connect,
  constants,
  createServer,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { within } from '../../helpers/grpc.js';
import { service, useHarness } from '../../helpers/veer.js';

const h = useHarness();

/** An h2c upstream that records each request's headers and answers with `answer`. */
async function h2cUpstream(answer: (stream: ServerHttp2Stream) => void) {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer();
  server.on('stream', (stream, headers) => {
    seen.push(headers);
    stream.on('error', () => undefined);
    stream.resume();
    stream.on('end', () => answer(stream));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  h.defer(() => new Promise<void>((r) => server.close(() => r())));
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

interface Answer {
  headers: IncomingHttpHeaders;
  endStream: boolean;
  body: string;
  trailers: IncomingHttpHeaders | null;
}

/** One call through veer's plain port, as a gRPC client frames it. */
function call(port: number, headers: OutgoingHttpHeaders): Promise<Answer> {
  const session = connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  h.defer(() => session.destroy());
  const stream = session.request({
    ':method': 'POST',
    ':path': '/pkg.Svc/Call',
    'content-type': 'application/grpc',
    te: 'trailers',
    ...headers,
  });
  stream.end(Buffer.from([0, 0, 0, 0, 0]));
  return within(
    new Promise<Answer>((resolve, reject) => {
      const a: Answer = { headers: {}, endStream: false, body: '', trailers: null };
      stream.on('response', (hs, flags) => {
        a.headers = hs;
        a.endStream = (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0;
      });
      stream.on('data', (c: Buffer) => (a.body += c.toString('latin1')));
      stream.on('trailers', (t) => (a.trailers = t));
      stream.on('close', () => resolve(a));
      stream.on('error', reject);
    }),
    'the call to end',
  );
}

const GRPC_H2C = { upstream: { protocol: 'h2c' } };

describe('gRPC on the wire', () => {
  it('keeps a Trailers-Only answer in one HEADERS frame with END_STREAM', async () => {
    const up = await h2cUpstream((s) =>
      s.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'down' },
        { endStream: true },
      ),
    );
    const v = await h.veer({ services: [service('api', [up.address], [], GRPC_H2C)] });
    const a = await call(v.port, {});
    expect(a.endStream).toBe(true);
    expect([a.headers[':status'], a.headers['grpc-status'], a.headers['grpc-message']]).toEqual([200, '14', 'down']);
    expect(a.trailers).toBeNull();
    // Answered whole on the stream: not mistaken for a client that left.
    expect(v.plane.answers.entries().filter(([code]) => code === 'client_closed')).toEqual([]);
  });

  it('passes the body and trailers through, and te: trailers (but no hop-by-hop field) upstream', async () => {
    const up = await h2cUpstream((s) => {
      s.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0', 'x-trailing': 'kept' }));
      s.end(Buffer.from([0, 0, 0, 0, 2, 0x7b, 0x7d]));
    });
    const v = await h.veer({ services: [service('api', [up.address], [], GRPC_H2C)] });
    const a = await call(v.port, { 'grpc-timeout': '5S', 'x-custom': 'yes' });
    expect(a.endStream).toBe(false);
    expect(a.body).toBe('\0\0\0\0\u0002{}');
    expect(a.trailers).toMatchObject({ 'grpc-status': '0', 'x-trailing': 'kept' });
    const seen = up.seen[0] as IncomingHttpHeaders;
    expect(seen.te).toBe('trailers');
    expect(seen['grpc-timeout']).toBe('5S');
    expect(seen['x-custom']).toBe('yes');
    expect(seen.via).toMatch(/veer/);
    for (const hop of ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection'])
      expect(seen[hop], hop).toBeUndefined();
    const pseudo = Object.keys(seen).filter((k) => k.startsWith(':'));
    expect(pseudo.sort()).toEqual([':authority', ':method', ':path', ':scheme']);
  });

  it('answers curl --http2-prior-knowledge on the plain port, and HTTP/1.1 on the same port', async () => {
    const up = await h.upstream('stable');
    const v = await h.veer({ services: [service('web', [up.address])] });
    const curl = (args: string[]): Promise<string> =>
      new Promise((resolve, reject) =>
        execFile('curl', ['-sS', '--max-time', '10', '-w', ' %{http_version} %{http_code}', ...args], (e, out) =>
          e ? reject(e) : resolve(out),
        ),
      );
    expect(await curl(['--http2-prior-knowledge', `${v.url}/x`])).toBe('stable 2 200');
    expect(await curl(['--http1.1', `${v.url}/y`])).toBe('stable 1.1 200');
    expect(up.requests.map((r) => r.url)).toEqual(['/x', '/y']);
  });
});
