// The head and body time bounds (timeouts.clientHeader / clientRequest) on a connection of veer's own
// HTTP/1.1 front, checked as the front's sweep checks them, on a clock the test moves. While the
// connection itself stops reading (a request not started holds body bytes, too many wait to be answered),
// the client is not slow: the bounds stand still and go on once it reads again. A request not started that
// is too slow itself never cuts the answers owed before it: they are given, then its 408.
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { LeanConnection } from '../../../src/dataplane/http1/lean-connection.js';
import type { LeanPorts } from '../../../src/dataplane/http1/lean-ports.js';
import type { LeanRequest } from '../../../src/dataplane/http1/lean-request.js';
import type { LeanResponse } from '../../../src/dataplane/http1/lean-response.js';
import { useHarness, waitFor } from '../../helpers/veer.js';

const h = useHarness();
const BOUND = 1_000;

/** One connection served alone: /slow is answered when the test says, every other request once read whole. */
async function served(limits: { headersTimeout: number; requestTimeout: number }) {
  const clock = { now: 1_000 };
  let answerSlow = (): void => undefined;
  const slow = new Promise<void>((resolve) => (answerSlow = resolve));
  const s = { started: [] as string[], conn: null as LeanConnection | null, read: 0 };
  const ports = {
    start: (req: LeanRequest, res: LeanResponse) => {
      s.started.push(req.url as string);
      const answer = () => res.end(`path=${req.url};`);
      req.on('end', () => (req.url === '/slow' ? void slow.then(answer) : answer()));
      req.resume();
    },
    refer: () => undefined,
    refused: () => undefined,
    closing: () => false,
    owed: () => undefined,
    forget: () => undefined,
  };
  let serverSocket: Socket | null = null;
  const server = createServer((socket) => {
    serverSocket = socket;
    const all = { keepAliveTimeout: 60_000, maxHeaderSize: 16_384, ...limits };
    s.conn = new LeanConnection(socket, all, ports as unknown as LeanPorts, () => clock.now);
    socket.on('data', (d: Buffer) => (s.read += d.length));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  h.defer(() => new Promise((resolve) => server.close(resolve)));
  h.defer(() => serverSocket?.destroy());
  const client = createConnection({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  const got = { text: '', closed: false };
  client.on('data', (d: Buffer) => (got.text += d.toString('latin1')));
  client.on('close', () => (got.closed = true));
  client.on('error', () => undefined);
  h.defer(() => client.destroy());
  await new Promise((resolve) => client.once('connect', resolve));
  /** The front's sweep, `ms` after the last one. */
  const sweep = (ms: number) => {
    clock.now += ms;
    s.conn?.check(clock.now);
  };
  /** Writes `bytes` and waits until the connection was given them. */
  const send = async (bytes: string) => {
    const want = s.read + bytes.length;
    client.write(bytes);
    await waitFor(() => s.read === want, { what: `${JSON.stringify(bytes.slice(0, 30))} read` });
  };
  return { s, got, client, sweep, send, answerSlow };
}

const get = (path: string, last = false): string =>
  `GET ${path} HTTP/1.1\r\nHost: a\r\n${last ? 'Connection: close\r\n' : ''}\r\n`;
const post = (path: string, length: number, last = false): string =>
  `POST ${path} HTTP/1.1\r\nHost: a\r\n${last ? 'Connection: close\r\n' : ''}Content-Length: ${length}\r\n\r\n`;
/** Answers' status codes, and the paths of those that named one, in the order they came. */
const statuses = (text: string): string[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1] as string);
const paths = (text: string): string[] => [...text.matchAll(/path=(\/[\w-]*);/g)].map((m) => m[1] as string);

describe("veer's own HTTP/1.1 front: the head and body bounds", () => {
  const queued = Array.from({ length: 32 }, (_, i) => `/q${i}`);
  it.each([
    ['a body the connection holds', [post('/post', 5) + 'hello'], ['/post']],
    ['32 requests waiting to be answered', queued.map((p) => get(p)), queued],
  ])('does not charge a head its wait behind %s; the bound goes on after', async (_, before, answered) => {
    const c = await served({ headersTimeout: BOUND, requestTimeout: 0 });
    // The connection stops reading with /last's head begun.
    const last = get('/last', true);
    await c.send(get('/slow') + before.join('') + last.slice(0, 10));
    await waitFor(() => c.s.started.length === 1, { what: '/slow started' });
    for (let i = 0; i < 8; i++) c.sweep(BOUND / 4);
    c.answerSlow();
    await waitFor(() => statuses(c.got.text).length === 1 + answered.length, { what: 'the answers before /last' });
    // Reading again: /last has most of its bound left (a quarter went before the sweep saw the stop).
    c.sweep(BOUND / 4);
    c.client.write(last.slice(10));
    await waitFor(() => c.got.closed, { what: 'every answer, then the close' });
    expect(paths(c.got.text)).toEqual(['/slow', ...answered, '/last']);
  });

  it('still refuses a head slow of its own once the connection reads again (408 after the answers owed)', async () => {
    const c = await served({ headersTimeout: BOUND, requestTimeout: 0 });
    await c.send(get('/slow') + post('/post', 5) + 'hello' + 'GET /last HT');
    await waitFor(() => c.s.started.length === 1, { what: '/slow started' });
    for (let i = 0; i < 8; i++) c.sweep(BOUND / 4);
    c.answerSlow();
    await waitFor(() => statuses(c.got.text).length === 2, { what: '/slow and /post answered' });
    for (let i = 0; i < 4 && !c.got.closed; i++) c.sweep(BOUND / 4);
    await waitFor(() => c.got.closed, { what: 'the 408, then the close' });
    expect(statuses(c.got.text)).toEqual(['200', '200', '408']);
  });

  it('does not charge a body the connection holds unread while an earlier answer is in flight', async () => {
    const c = await served({ headersTimeout: BOUND, requestTimeout: BOUND });
    await c.send(get('/slow') + post('/post', 10, true) + 'hello');
    await waitFor(() => c.s.started.length === 1, { what: '/slow started' });
    for (let i = 0; i < 8; i++) c.sweep(BOUND / 4);
    c.client.write('world');
    c.answerSlow();
    await waitFor(() => c.got.closed, { what: 'both answers, then the close' });
    expect(paths(c.got.text)).toEqual(['/slow', '/post']);
  });

  it('answers what came before a body too slow of its own, then 408 (the connection is not cut)', async () => {
    const c = await served({ headersTimeout: BOUND, requestTimeout: BOUND });
    // No byte of /post's body: nothing is held, the client is slow.
    await c.send(get('/slow') + post('/post', 10, true));
    await waitFor(() => c.s.started.length === 1, { what: '/slow started' });
    for (let i = 0; i < 6; i++) c.sweep(BOUND / 4);
    c.answerSlow();
    await waitFor(() => c.got.closed, { what: "/slow's answer, the 408, then the close" });
    expect(statuses(c.got.text)).toEqual(['200', '408']);
    expect(paths(c.got.text)).toEqual(['/slow']);
    expect(c.s.started).toEqual(['/slow']);
  });
});
