// veer's own HTTP/1.1 upstream pool driven directly, against a real node:http server on port 0: the cases
// a whole proxy reaches only by timing (a response paused on its last chunk, thousands of requests whose
// clients left while every connection was busy).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamPool } from '../../../src/dataplane/http1/upstream-pool.js';
import type { UpstreamHandler } from '../../../src/dataplane/http1/upstream-call.js';

const servers: Server[] = [];
const pools: UpstreamPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.destroy();
  for (const s of servers.splice(0)) await new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())));
});

async function poolTo(answer: (url: string, end: (body: string) => void) => void): Promise<UpstreamPool> {
  const server = createServer((req, res) => answer(req.url ?? '', (body) => res.end(body)));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const pool = new UpstreamPool({
    ...{ host: '127.0.0.1', port, connections: 1, idleTimeout: 10_000 },
    ...{ connectTimeout: 2_000, maxHeaderSize: 16_384 },
  });
  pools.push(pool);
  return pool;
}

type Outcome = { kind: 'complete'; body: string } | { kind: 'error'; code: string | undefined };

/** Dispatches GET `path`; `pause`: the handler asks to pause on every body chunk (a slow client). */
function get(pool: UpstreamPool, path: string, opts: { pause?: boolean; abortAtOnce?: boolean } = {}) {
  let body = '';
  const outcome = new Promise<Outcome>((resolve) => {
    const handler: UpstreamHandler = {
      onConnect: (abort) => void (opts.abortAtOnce && abort()),
      onHeaders: () => true,
      onData: (chunk) => ((body += chunk.toString()), opts.pause !== true),
      onComplete: () => resolve({ kind: 'complete', body }),
      onError: (err) => resolve({ kind: 'error', code: (err as Error & { code?: string }).code }),
    };
    pool.dispatch({ path, method: 'GET', headers: [], body: null }, handler);
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
});
