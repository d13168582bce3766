// An HTTP/2 client whose connection ends (its FIN) is gone: HTTP/2 has no half-closed connection, so after it the
// client can send no WINDOW_UPDATE, body or RST_STREAM, and an answer waiting for its window could never finish.
// veer destroys the session at once and every open stream ends as a client that left (499 or the status sent,
// client_closed, its upstream request aborted), exactly as a client's RST_STREAM CANCEL ends it. Before, an h2c
// session and its streams stayed until proxy.timeouts.body cut them (60 s here): the plain port's sockets allow
// half-open, and Node's http2 does nothing on a socket's 'end'. On the TLS port the socket's end closed it already
// (no half-open there, and Node cancels a session's streams when its socket closes): its cases hold both ports to
// one outcome. Streams already answered stay answered.
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { createConnection, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { accessLines, accessLogFile, waitForLines } from '../../helpers/access-lines.js';
import { testCa } from '../../helpers/certs.js';
import { clientClosed, leftTraces } from '../../helpers/left-answers.js';
import { service, useHarness, waitFor, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();
const ca = testCa();
afterAll(() => ca.remove());
const pair = ca.issue(['a.test']);

// More than every buffer between the upstream and the client holds (see proxied-bytes-left.test.ts).
const BIG = 256 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 120);
/** Well under the body bound (60 s): a FIN that did not end the stream waits for that bound. */
const PROMPT = 5_000;

/** One /big answer upstream: bytes pumped, whether it waits for veer to read, whether its request went. */
interface Pump {
  pumped: number;
  blocked: boolean;
  closed: boolean;
}

/**
 * An upstream answering /big with BIG bytes (backpressured), /ok with 'ok', /silent never, /upload once its request
 * body ended (its pump counts the bytes read, blocked once some came), others empty.
 */
async function setup(): Promise<{ v: TestVeer; log: string; pumps: Pump[] }> {
  const pumps: Pump[] = [];
  const server = await h.server((req, res) => {
    if (req.url === '/upload') {
      const up: Pump = { pumped: 0, blocked: false, closed: false };
      pumps.push(up);
      res.on('close', () => (up.closed = true));
      req.on('data', (d: Buffer) => ((up.pumped += d.length), (up.blocked = true)));
      return void req.on('end', () => res.end('whole'));
    }
    if (req.url !== '/big' && req.url !== '/silent') return void res.end(req.url === '/ok' ? 'ok' : '');
    const up: Pump = { pumped: 0, blocked: req.url === '/silent', closed: false };
    pumps.push(up);
    res.on('close', () => (up.closed = true));
    if (req.url === '/silent') return; // no head yet: held until its request goes
    res.writeHead(200, { 'content-length': String(BIG) });
    const pump = (): void => {
      up.blocked = false;
      while (up.pumped < BIG && !up.closed) {
        up.pumped += CHUNK.length;
        if (!res.write(CHUNK)) return void ((up.blocked = true), res.once('drain', pump));
      }
      res.end();
    };
    pump();
  });
  const log = accessLogFile(h);
  const v = await h.veer({
    services: [service('web', [server.address])],
    proxy: { timeouts: { body: '60s' } },
    tls: { certificates: [pair] },
    accessLog: { output: log },
  });
  return { v, log, pumps };
}

/** Until `n` /big answers are held back upstream, the same in two looks in a row: the client takes none of them. */
async function held(pumps: Pump[], n: number): Promise<void> {
  let last = '';
  await waitFor(
    () => {
      const now = pumps.map((p) => p.pumped).join();
      const same = pumps.length === n && pumps.every((p) => p.blocked) && now === last;
      last = now;
      return same;
    },
    { what: `${n} upstream answers held back by a client that reads none`, timeoutMs: 10_000, intervalMs: 150 },
  );
}

/** An HTTP/2 client over a socket the test holds (so it can end it alone), h2c or ALPN h2 on the TLS port. */
async function client(
  v: TestVeer,
  tls: boolean,
  window: number,
): Promise<{ session: ClientHttp2Session; raw: Socket }> {
  const raw = tls
    ? tlsConnect({
        host: '127.0.0.1',
        port: v.tlsPort as number,
        servername: 'a.test',
        ca: ca.caPem,
        ALPNProtocols: ['h2'],
      })
    : createConnection({ host: '127.0.0.1', port: v.port });
  raw.on('error', () => undefined);
  const origin = tls ? `https://a.test:${v.tlsPort}` : `http://127.0.0.1:${v.port}`;
  const session = connect(origin, { createConnection: () => raw, settings: { initialWindowSize: window } });
  session.on('error', () => undefined);
  h.defer(() => session.destroy());
  await new Promise((r) => session.once('remoteSettings', r));
  return { session, raw };
}

function get(session: ClientHttp2Session, path: string): ClientHttp2Stream {
  const s = session.request({ ':path': path });
  s.on('error', () => undefined);
  s.end();
  return s;
}

/** What the client's end left: veer's streams gone, every upstream request it held aborted, `sessions` still open. */
async function allGone(v: TestVeer, pumps: Pump[], sessions = 0): Promise<void> {
  const gone = (): boolean =>
    v.plane.tls?.http2Sessions === sessions && v.plane.inFlight === 0 && pumps.every((p) => p.closed);
  await waitFor(gone, {
    what: `the streams and their upstream requests gone, ${sessions} sessions`,
    timeoutMs: PROMPT,
  });
}

/** How the client leaves, and the sessions left open after it: a cancel leaves its session (the reference). */
const ends: Array<[string, (raw: Socket, s: ClientHttp2Stream) => void, number]> = [
  ['cancels its stream (the reference)', (_, s) => s.close(constants.NGHTTP2_CANCEL), 1],
  ['ends its socket (FIN, half-close)', (raw) => raw.end(), 0],
  ['destroys its session (FIN, nothing unread)', (_, s) => s.session?.destroy(), 0],
];

describe.each([
  ['h2c on the plain port', false],
  ['ALPN h2 on the TLS port', true],
] as const)('%s: a client whose answer waits for its window (0)', (_, tls) => {
  it.each(ends)('%s: left at once, as a client that cancels', async (_how, end, sessions) => {
    const { v, log, pumps } = await setup();
    const { raw, session } = await client(v, tls, 0);
    const s = get(session, '/big');
    await held(pumps, 1);
    end(raw, s);
    const [line] = (await waitForLines(log, 1, PROMPT)) as Array<{ status: number; error: string; bytesOut: number }>;
    expect({ status: line?.status, error: line?.error, bytesOut: line?.bytesOut }).toEqual({
      status: 200,
      error: 'client_closed',
      bytesOut: 0,
    });
    await allGone(v, pumps, sessions);
    expect(await leftTraces(v, log)).toEqual({
      notWhole: [{ status: 200, error: 'client_closed' }],
      clientClosed: 1,
      upstreamDone: 0,
      pool: { errors: 0, failing: [], ejected: [] },
    });
  });
});

/** How a client that ends its socket before any head came left its one request: under way upstream, no answer yet. */
const beforeHead: Array<[string, number, (session: ClientHttp2Session, pumps: Pump[]) => Promise<void>]> = [
  [
    'an upstream that never answers',
    0,
    async (session, pumps) => {
      get(session, '/silent');
      await held(pumps, 1);
    },
  ],
  [
    'its request body still coming (aborted mid-body)',
    65_535,
    async (session, pumps) => {
      const s = session.request({ ':path': '/upload', ':method': 'POST' });
      s.on('error', () => undefined);
      s.write(Buffer.alloc(16 * 1024, 97)); // a part of a body whose end never comes
      await held(pumps, 1);
      expect(pumps[0]?.pumped).toBe(16 * 1024);
    },
  ],
];

describe('h2c: a client that ends its socket before any head came', () => {
  it.each(beforeHead)('%s: logged 499 client_closed, its upstream request aborted', async (_, window, send) => {
    const { v, log, pumps } = await setup();
    const { raw, session } = await client(v, false, window);
    await send(session, pumps);
    raw.end();
    const [line] = await waitForLines(log, 1, PROMPT);
    expect({ status: line?.status, error: line?.error }).toEqual({ status: 499, error: 'client_closed' });
    await allGone(v, pumps);
    expect(await clientClosed(v)).toBe(1);
  });
});

describe('h2c: several streams on the session that ends', () => {
  it('the one answered before the FIN stays answered; the two held are each left once', async () => {
    const { v, log, pumps } = await setup();
    const { raw, session } = await client(v, false, 0);
    const empty = get(session, '/empty'); // an empty answer needs no window
    empty.resume();
    await new Promise((r) => empty.once('close', r));
    get(session, '/big');
    get(session, '/big');
    await held(pumps, 2);
    raw.end();
    await waitForLines(log, 3, PROMPT);
    await allGone(v, pumps);
    expect(await v.plane.accessLog.flushed()).toBe(true);
    const lines = accessLines(log).map((l) => ({ path: l.path, status: l.status, error: l.error }));
    expect(lines.sort((a, b) => String(a.path).localeCompare(String(b.path)))).toEqual([
      { path: '/big', status: 200, error: 'client_closed' },
      { path: '/big', status: 200, error: 'client_closed' },
      { path: '/empty', status: 200, error: null },
    ]);
    expect(await clientClosed(v)).toBe(2);
  });
});

describe('h2c: a client that ends its connection once its answer came whole', () => {
  it.each([
    ['half-closes (FIN)', (raw: Socket) => raw.end()],
    ['sends GOAWAY, then FIN (close)', (_: Socket, session: ClientHttp2Session) => session.close()],
  ])('%s: its answer stays whole, and its session goes', async (_, end) => {
    const { v, log, pumps } = await setup();
    const { raw, session } = await client(v, false, 65_535);
    const s = get(session, '/ok');
    let body = '';
    s.on('data', (d: Buffer) => (body += d.toString()));
    await new Promise((r) => s.once('close', r));
    expect(body).toBe('ok');
    end(raw, session);
    await allGone(v, pumps);
    const [line] = await waitForLines(log, 1, PROMPT);
    expect({ status: line?.status, error: line?.error, bytesOut: line?.bytesOut }).toEqual({
      status: 200,
      error: null,
      bytesOut: 2,
    });
    expect(await clientClosed(v)).toBe(0);
  });
});
