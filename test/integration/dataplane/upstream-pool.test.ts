// veer's own HTTP/1.1 upstream pool driven directly, against a real node:http server on port 0: the cases
// a whole proxy reaches only by timing (a response paused on its last chunk, thousands of requests whose
// clients left while every connection was busy).
import { createServer, type Server } from 'node:http';
import { createServer as createRawServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamPool } from '../../../src/dataplane/http1/upstream-pool.js';
import type { UpstreamHandler } from '../../../src/dataplane/http1/upstream-call.js';

const servers: Server[] = [];
const pools: UpstreamPool[] = [];
const rawSockets = new Set<Socket>();
const rawServers: ReturnType<typeof createRawServer>[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.destroy();
  for (const s of servers.splice(0)) await new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())));
  for (const c of rawSockets) c.destroy();
  for (const s of rawServers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

function newPool(port: number, connections = 1, idleTimeout = 10_000): UpstreamPool {
  const pool = new UpstreamPool({
    ...{ host: '127.0.0.1', port, connections, idleTimeout },
    ...{ connectTimeout: 2_000, maxHeaderSize: 16_384 },
  });
  pools.push(pool);
  return pool;
}

/** An upstream speaking raw bytes: `onRequest` gets each request's first line, its connection's number and index. */
async function rawPoolTo(
  onRequest: (line: string, socket: Socket, conn: number, nth: number) => void,
  idleTimeout?: number,
) {
  let conns = 0;
  const closed: Promise<void>[] = [];
  const server = createRawServer((socket) => {
    const conn = conns++;
    let nth = 0;
    rawSockets.add(socket);
    closed.push(new Promise((r) => socket.on('close', () => (rawSockets.delete(socket), r()))));
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      for (const line of d.toString('latin1').match(/^[A-Z]+ \S+ HTTP\/1\.1/gm) ?? [])
        onRequest(line, socket, conn, nth++);
    });
  });
  rawServers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const pool = newPool((server.address() as AddressInfo).port, 1, idleTimeout);
  return { pool, connections: () => conns, closed: (n: number) => closed[n] };
}

async function poolTo(answer: (url: string, end: (body: string) => void) => void): Promise<UpstreamPool> {
  const server = createServer((req, res) => answer(req.url ?? '', (body) => res.end(body)));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return newPool((server.address() as AddressInfo).port);
}

type Outcome = { kind: 'complete'; body: string } | { kind: 'error'; code: string | undefined };

/** Dispatches `method` (GET) `path`; `pause`: the handler asks to pause on every body chunk (a slow client). */
function get(pool: UpstreamPool, path: string, opts: { pause?: boolean; abortAtOnce?: boolean; method?: string } = {}) {
  let body = '';
  const outcome = new Promise<Outcome>((resolve) => {
    const handler: UpstreamHandler = {
      onConnect: (abort) => void (opts.abortAtOnce && abort()),
      onHeaders: () => true,
      onData: (chunk) => ((body += chunk.toString()), opts.pause !== true),
      onComplete: () => resolve({ kind: 'complete', body }),
      onError: (err) => resolve({ kind: 'error', code: (err as Error & { code?: string }).code }),
    };
    pool.dispatch({ path, method: opts.method ?? 'GET', headers: [], body: null }, handler);
  });
  return outcome;
}

const within = <T>(p: Promise<T>, ms: number): Promise<T | 'hung'> =>
  Promise.race([p, new Promise<'hung'>((r) => setTimeout(() => r('hung'), ms).unref())]);

describe("veer's own upstream pool", () => {
  it('reads the next answer on a connection whose last answer was paused on its last chunk', async () => {
    const pool = await poolTo((url, end) => end(`hello ${url}`));
    expect(await get(pool, '/a', { pause: true })).toEqual({ kind: 'complete', body: 'hello /a' });
    expect(await within(get(pool, '/b'), 5_000)).toEqual({ kind: 'complete', body: 'hello /b' });
    expect(pool.size).toBe(1);
  });

  it('passes over thousands of waiting requests aborted before they were sent, without deep recursion', async () => {
    // One connection, still connecting while every request below is dispatched (synchronously): the 20,000 wait
    // behind the first, and each is aborted only when the pool hands it to the freed connection.
    const pool = await poolTo((_url, end) => end('slow'));
    const first = get(pool, '/first');
    const aborted = Array.from({ length: 20_000 }, () => get(pool, '/gone', { abortAtOnce: true }));
    const last = get(pool, '/last');
    expect(await first).toEqual({ kind: 'complete', body: 'slow' });
    const outcomes = await Promise.all(aborted);
    expect(outcomes.every((o) => o.kind === 'error' && o.code === 'UND_ERR_ABORTED')).toBe(true);
    expect(await within(last, 5_000)).toEqual({ kind: 'complete', body: 'slow' });
    expect(pool.size).toBe(1);
  });

  it('an upstream closing after each answer unannounced: waiting requests (POSTs too) take new ones', async () => {
    const up = await rawPoolTo((_line, socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    const methods = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 'GET' : 'POST'));
    const outcomes = await Promise.all(methods.map((method, i) => within(get(up.pool, `/${i}`, { method }), 5_000)));
    expect(outcomes).toEqual(methods.map(() => ({ kind: 'complete', body: 'ok' })));
    expect(up.connections()).toBe(10);
  });

  it('a request coming turns after the last answer, nothing else going on, takes its connection', async () => {
    // The connection is handed on only after a poll that could show a close behind the answer: a request that comes
    // later, with no other traffic to turn the loop, still finds it (not a new connection, and not a wait forever).
    const up = await rawPoolTo((line, socket) =>
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n${line[5]}ok`),
    );
    for (const path of ['/a', '/b', '/c']) {
      expect(await within(get(up.pool, path), 5_000)).toEqual({ kind: 'complete', body: `${path[1]}ok` });
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    }
    expect(up.connections()).toBe(1);
  });

  it('a connection left alone after its answer is closed at the idle limit', async () => {
    const up = await rawPoolTo((_line, socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'), 50);
    expect(await get(up.pool, '/')).toEqual({ kind: 'complete', body: 'ok' });
    expect(await within(up.closed(0) as Promise<void>, 5_000)).toBeUndefined();
  });

  it('a reason phrase past the head limit is a broken answer, not memory without bound', async () => {
    const up = await rawPoolTo((_line, socket) => {
      socket.write(`HTTP/1.1 200 ${'x'.repeat(20_000)}`);
      socket.write('\r\nContent-Length: 2\r\n\r\nok');
    });
    expect(await within(get(up.pool, '/'), 5_000)).toEqual({ kind: 'error', code: 'UND_ERR_HEADERS_OVERFLOW' });
  });

  it('a graceful close still resends a GET its kept-alive connection lost, and resolves once', async () => {
    // The first connection answers one request, then closes on the next one without a word.
    const up = await rawPoolTo((line, socket, conn, nth) => {
      if (conn === 0 && nth === 1) return void socket.destroy();
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${line.length}\r\n\r\n${line}`);
    });
    expect(await get(up.pool, '/a')).toEqual({ kind: 'complete', body: 'GET /a HTTP/1.1' });
    const b = get(up.pool, '/b');
    const closed = up.pool.close();
    expect(up.pool.close()).toBe(closed);
    expect(await within(b, 5_000)).toEqual({ kind: 'complete', body: 'GET /b HTTP/1.1' });
    expect(await within(closed, 5_000)).toBeUndefined();
    expect(up.connections()).toBe(2);
    expect(await get(up.pool, '/c')).toEqual({ kind: 'error', code: 'UND_ERR_CLOSED' });
    await up.pool.destroy();
    expect(await get(up.pool, '/d')).toEqual({ kind: 'error', code: 'UND_ERR_DESTROYED' });
  });
});
