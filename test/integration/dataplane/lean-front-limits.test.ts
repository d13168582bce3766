// What of a chunked request body is not body data has node:http's bounds on veer's own HTTP/1.1 front too:
// trailer fields count against proxy.maxHeaderSize (431 past it), and one chunk's extensions are bounded at
// 16 KiB (400; CVE-2024-22019 is that shape), whether the request was read in one piece or had already
// started. Each case runs on both fronts: the answers must be the same.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { rawExchange, service, useHarness, waitFor } from '../../helpers/veer.js';

const h = useHarness();
const FRONTS = ['lean', 'node'] as const;

const chunked = 'POST /p HTTP/1.1\r\nHost: shop.test\r\nTransfer-Encoding: chunked\r\n\r\n';
const after = 'GET /after HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n';
const x = (n: number): string => 'x'.repeat(n);

const CASES: [name: string, body: string, statuses: string[]][] = [
  ['a 17 kB extension on the first chunk', `5;${x(17_000)}\r\nhello\r\n0\r\n\r\n`, ['400']],
  ['a 17 kB extension after the first data', `5\r\nhello\r\n5;${x(17_000)}\r\nworld\r\n0\r\n\r\n`, ['400']],
  ['a 17 kB extension on the last chunk', `5\r\nhello\r\n0;${x(17_000)}\r\n\r\n`, ['400']],
  ['a 17 kB trailer field', `5\r\nhello\r\n0\r\nX-T: ${x(17_000)}\r\n\r\n`, ['431']],
  [
    '3,000 small trailer fields',
    `5\r\nhello\r\n0\r\n${Array.from({ length: 3_000 }, (_, i) => `T${i}: v\r\n`).join('')}\r\n`,
    ['431'],
  ],
  // Bounded per chunk, as node:http's: 200 chunks of 200 bytes of extensions each are fine.
  ['200 chunks with 200-byte extensions', `${`1;${x(200)}\r\na\r\n`.repeat(200)}0\r\nX-T: 1\r\n\r\n`, ['200', '200']],
];

/** veer before an upstream that notes each request as its head arrives and answers once its body was read. */
async function veer(front: (typeof FRONTS)[number]) {
  const up = { started: [] as string[], answered: [] as string[] };
  const server = await h.server((req: IncomingMessage, res: ServerResponse) => {
    up.started.push(req.url as string);
    req.on('error', () => undefined);
    req.resume();
    req.on('end', () => (up.answered.push(req.url as string), res.end(`path=${req.url};`)));
  });
  const v = await h.veer({ services: [service('web', [server.address])], proxy: { front } });
  return { v, up };
}

const statuses = (text: string): string[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1] as string);

describe("a chunked request body's extensions and trailers, on veer's own front as on node:http's", () => {
  for (const front of FRONTS) {
    it.each(CASES)(`front ${front}: %s`, async (_, body, want) => {
      const { v, up } = await veer(front);
      const r = await rawExchange(v.port, chunked + body + after, 10_000);
      expect(statuses(r.data)).toEqual(want);
      expect(r.closedByPeer).toBe(true);
      // A refused body never reaches the upstream whole.
      expect(up.answered).toEqual(want.length === 2 ? ['/p', '/after'] : []);
    });

    it(`front ${front}: refuses trailers past the limit on a request already started (431)`, async () => {
      const { v, up } = await veer(front);
      const socket = createConnection({ host: '127.0.0.1', port: v.port });
      let got = '';
      let closed = false;
      socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
      socket.on('close', () => (closed = true));
      socket.on('error', () => undefined);
      h.defer(() => socket.destroy());
      socket.write(`${chunked}5\r\nhello\r\n`);
      await waitFor(() => up.started.length === 1, { what: 'the request at the upstream' });
      socket.write(`0\r\nX-T: ${x(17_000)}\r\n\r\n`);
      await waitFor(() => closed, { what: 'the refusal, then the close' });
      expect(statuses(got)).toEqual(['431']);
      expect(up.answered).toEqual([]);
    });
  }
});
