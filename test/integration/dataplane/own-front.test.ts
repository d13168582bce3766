// What only veer's own HTTP/1.1 front (proxy.front: lean, the default) has to get right beyond the request
// path's suites, which run on it (and, with VEER_TEST_FRONT=node, on node:http's): many pipelined requests in
// one write (it stops reading past a bound and reads on as answers go out), and a connection handed to
// node:http midway (an upgrade after plain requests), whose answers must still come in request order, each
// exactly once.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { rawExchange, service, useHarness } from '../../helpers/veer.js';

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
});
