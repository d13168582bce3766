// What only veer's own HTTP/1.1 front (proxy.front: lean, the default) has to get right beyond the request
// path's suites, which run on it (and, with VEER_TEST_FRONT=node, on node:http's): many pipelined requests in
// one write (it stops reading past a bound and reads on as answers go out), and a connection handed to
// node:http midway (an upgrade after plain requests), whose answers must still come in request order, each
// exactly once; and request bodies held until read: one never read must not stop the connection, and one
// request's read must not let another's body in unbounded.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createConnection, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { leanServer } from '../../helpers/lean-server.js';
import { deadPort, rawExchange, service, useHarness, waitFor } from '../../helpers/veer.js';

const h = useHarness();

async function ownFront() {
  const up = await h.upstream('u', {
    handler: (req: IncomingMessage, res: ServerResponse) => {
      const body = `path=${req.url};`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    },
  });
  return h.veer({ services: [service('web', [up.address])], proxy: { front: 'lean' } });
}

const get = (path: string, last = false): string =>
  `GET ${path} HTTP/1.1\r\nHost: shop.test\r\n${last ? 'Connection: close\r\n' : ''}\r\n`;

/** The paths the answers name, in the order they came. */
const answered = (data: string): string[] => [...data.matchAll(/path=(\/[\w-]*);/g)].map((m) => m[1] as string);

describe("veer's own HTTP/1.1 front", () => {
  it('answers 200 pipelined requests sent in one write, in order, once each', async () => {
    const v = await ownFront();
    const paths = Array.from({ length: 200 }, (_, i) => `/r${i}`);
    const payload = paths.map((p, i) => get(p, i === paths.length - 1)).join('');
    const r = await rawExchange(v.port, payload, 20_000);
    expect(r.closedByPeer).toBe(true);
    expect(answered(r.data)).toEqual(paths);
    expect(r.data.match(/HTTP\/1\.1 200 /g)).toHaveLength(200);
  });

  it('hands a connection to node:http at an upgrade it does not read, after answering what came before', async () => {
    const v = await ownFront();
    const upgrade =
      'GET /up HTTP/1.1\r\nHost: shop.test\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n\r\n';
    const r = await rawExchange(v.port, `${get('/one')}${get('/two')}${upgrade}`, 10_000);
    // The upgrade to another protocol is answered by node:http's path as the plain request it also is, then closed.
    expect(answered(r.data)).toEqual(['/one', '/two', '/up']);
    expect(r.data.match(/HTTP\/1\.1 \d{3} /g)).toHaveLength(3);
    expect(r.closedByPeer).toBe(true);
  });

  it('hands a refused head to node:http after the answers before it: 400 from node:http, once', async () => {
    const v = await ownFront();
    const r = await rawExchange(v.port, `${get('/one')}GET /bad HTTP/1.1\r\nHost : shop.test\r\n\r\n`, 10_000);
    expect(answered(r.data)).toEqual(['/one']);
    expect(r.data.match(/HTTP\/1\.1 \d{3} /g)).toEqual(['HTTP/1.1 200 ', 'HTTP/1.1 400 ']);
    expect(r.closedByPeer).toBe(true);
  });

  it('reads on after an answer that never read its request body (a refusal, a dead upstream)', async () => {
    const up = await h.upstream('u');
    const v = await h.veer({
      services: [
        service('web', [up.address]),
        service('gone', [`127.0.0.1:${await deadPort()}`], [], { match: { hosts: ['gone.test'] } }),
      ],
      proxy: { front: 'lean' },
    });
    const post = (host: string, path = '/', more = '') =>
      `POST ${path} HTTP/1.1\r\nHost: ${host}\r\n${more}Content-Length: 5\r\n\r\nhello`;
    for (const [first, status] of [
      [post('shop.test', '/a\\b'), '400'],
      [post('shop.test', '/', 'Via: 1.1 veer\r\n'), '508'],
      [post('gone.test'), '502'],
      [post('shop.test'), '200'],
    ] as const) {
      const c = await connected(v.port);
      try {
        c.socket.write(first);
        await waitFor(() => c.statuses().length === 1, { what: `the answer to ${first.split('\r')[0]}` });
        c.socket.write(get('/next'));
        await waitFor(() => c.statuses().length === 2 || c.closed, { what: 'an answer to the next request' });
        expect(c.statuses(), first).toEqual([status, '200']);
      } finally {
        c.socket.destroy();
      }
    }
  });

  it('does not read a queued request body while an earlier request holds its own', async () => {
    const bBytes = 48 * 1024 * 1024;
    let answerSlow = (): void => undefined;
    const slowAnswered = new Promise<void>((resolve) => (answerSlow = resolve));
    // The harness's upstream reads each body whole before the handler runs.
    const up = await h.upstream('u', {
      handler: (req: IncomingMessage, res: ServerResponse) => {
        const answer = () => res.end(`path=${req.url};`);
        if (req.url === '/slow') void slowAnswered.then(answer);
        else answer();
      },
    });
    const v = await h.veer({ services: [service('web', [up.address])], proxy: { front: 'lean' } });
    const c = await connected(v.port);
    try {
      c.socket.write(
        `POST /slow HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 5\r\n\r\nhello` +
          `POST /big HTTP/1.1\r\nHost: shop.test\r\nContent-Length: ${bBytes}\r\nConnection: close\r\n\r\n`,
      );
      const piece = Buffer.alloc(64 * 1024, 120);
      // While /slow is unanswered, /big's body is held: only the kernel's buffers take it (a few MiB).
      const before = await pump(c.socket, piece, bBytes);
      expect(before).toBeLessThan(bBytes / 2);
      answerSlow();
      const sent = before + (await pump(c.socket, piece, bBytes - before));
      expect(sent, c.text()).toBe(bBytes);
      await waitFor(() => c.closed, { what: 'both answers, then the close', timeoutMs: 20_000 });
      expect(answered(c.text())).toEqual(['/slow', '/big']);
      expect(up.requests.map((r) => [r.url, r.body.length])).toEqual([
        ['/slow', 5],
        ['/big', bBytes],
      ]);
    } finally {
      c.socket.destroy();
    }
  });
  it('after an answer given before the body was read whole, the rest is not read (TCP holds the sender)', async () => {
    // The connection alone, its request answered early without reading the body (a 413, an upstream's early
    // answer): the socket must stay paused, not be read and thrown away for as long as the client sends.
    const server = await leanServer((_req, res) => void setImmediate(() => ((res.statusCode = 413), res.end('no'))));
    h.defer(() => server.close());
    // Half-open: it goes on sending after veer's end, as a client uploading a large body does.
    const c = await connected(server.port, true);
    try {
      const bytes = 64 * 1024 * 1024;
      c.socket.write(`POST / HTTP/1.1\r\nHost: shop.test\r\nContent-Length: ${bytes}\r\n\r\n`);
      await waitFor(() => c.statuses().length === 1, { what: 'the early answer' });
      const sent = await pump(c.socket, Buffer.alloc(64 * 1024, 120), bytes);
      expect(c.statuses()).toEqual(['413']);
      // Only the kernel's buffers took the rest (a few MiB).
      expect(sent).toBeLessThan(bytes / 2);
    } finally {
      c.socket.destroy();
    }
  });
});

/** A raw connection whose answers' status codes and close can be waited for. */
async function connected(port: number, allowHalfOpen = false) {
  const socket = createConnection({ host: '127.0.0.1', port, allowHalfOpen });
  const chunks: Buffer[] = [];
  const c = {
    socket,
    closed: false,
    text: () => Buffer.concat(chunks).toString('latin1'),
    statuses: () => [...c.text().matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1] as string),
  };
  socket.on('data', (d: Buffer) => chunks.push(d));
  socket.on('error', () => undefined);
  socket.on('close', () => (c.closed = true));
  await new Promise((resolve) => socket.once('connect', resolve));
  return c;
}

/** Writes up to `bytes` of `piece` until the peer stops taking them (no 'drain' within 1 s); the bytes written. */
async function pump(socket: Socket, piece: Buffer, bytes: number): Promise<number> {
  let sent = 0;
  for (let n = 0; sent < bytes && n < 100_000; n++) {
    const part = piece.subarray(0, Math.min(piece.length, bytes - sent));
    sent += part.length;
    if (socket.write(part)) continue;
    const drained = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 1_000);
      socket.once('drain', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!drained) break;
  }
  return sent;
}
