// The access line of veer's OWN answer (a 1 MiB 503 page, a 404) whose client did not take it whole: cut for
// reading none of it for `timeouts.body`, or gone mid-page. Its line says the client left (`client_closed`, the
// status sent) and counts in bytesOut only the bytes that left veer, as a proxied answer's line does. Before, it
// said `no_targets` with the whole page's size, on both HTTP/1.1 fronts and over HTTP/2.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { accessLines, accessLogFile, type AccessLine } from '../../helpers/access-lines.js';
import { owedOrCut } from '../../helpers/left-answers.js';
import { stalledClient } from '../../helpers/stalled-client.js';
import { h2Request } from '../../helpers/h2-stream.js';
import { useHarness, service, waitFor, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();

/** Just under the 1 MiB a page file may hold. */
const PAGE = Buffer.alloc(1024 * 1024 - 64, 'x');
/** Loopback's socket buffers take a few MiB: a client that reads nothing stalls veer only past them. */
const PAGES = 12;

/** A service with no target (503 no_targets at once), its 503 page 1 MiB, on host page.test; lines to a file. */
async function pagedVeer(front: 'node' | 'lean', body: string): Promise<{ v: TestVeer; log: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'veer-own-line-'));
  h.defer(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, '503.html'), PAGE);
  const none = service('none', [], [], {
    match: { hosts: ['page.test'] },
    timeouts: { waitForTarget: '0s' },
    errorPages: { 503: join(dir, '503.html') },
  });
  const log = accessLogFile(h);
  const v = await h.veer({ services: [none], proxy: { front, timeouts: { body } }, accessLog: { output: log } });
  return { v, log };
}

/** Every line written once nothing is in flight any more. */
async function settledLines(v: TestVeer, log: string): Promise<AccessLine[]> {
  await waitFor(() => v.plane.inFlight === 0, { what: 'every answer closed', timeoutMs: 15_000 });
  expect(await v.plane.accessLog.flushed()).toBe(true);
  return accessLines(log);
}

/** A client that sends `requests` at once and reads nothing until told. */
const stuck = (v: TestVeer, requests: string): Socket => stalledClient(h, v.port, requests);

/** Reads what the socket holds until veer's close reaches it: all the bytes it got. */
function drained(s: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const timer = setTimeout(() => reject(new Error('the connection stayed open past 10 s')), 10_000);
    s.on('data', (c: Buffer) => (n += c.length));
    s.on('close', () => {
      clearTimeout(timer);
      resolve(n);
    });
    s.resume();
  });
}

const pageRequest = 'GET / HTTP/1.1\r\nHost: page.test\r\nAccept: text/html\r\n\r\n';
const sum = (lines: AccessLine[]): number => lines.reduce((n, l) => n + (l.bytesOut as number), 0);

/**
 * Each line, in the order written, as what it says: `whole` (a page taken whole keeps its code and size), `left`
 * (the client left: the status sent, and no more bytes than the page: its last bytes may have reached the kernel
 * just before the client went, seen in CI), or the line itself when it is neither.
 */
function kinds(lines: AccessLine[]): string {
  const kind = (l: AccessLine): string => {
    const [status, error, bytes] = [l.status, l.error, l.bytesOut as number];
    if (status === 503 && error === 'no_targets' && bytes === PAGE.length) return 'whole';
    if (status === 503 && error === 'client_closed' && bytes <= PAGE.length) return 'left';
    return JSON.stringify(l);
  };
  return lines.map(kind).join(' ');
}

describe.each(['node', 'lean'] as const)('proxy.front: %s, the line of an own answer not taken whole', (front) => {
  it('cut for reading none of it: client_closed, and no more bytes than the client got', async () => {
    const { v, log } = await pagedVeer(front, '1s');
    const s = stuck(v, pageRequest.repeat(PAGES));
    await waitFor(() => owedOrCut(v), { what: 'an answer owed or cut', timeoutMs: 5_000 });
    const lines = await settledLines(v, log);
    const got = await drained(s);
    // The pages the kernel took whole, then the one cut (and, on node:http's front, those queued behind it).
    expect(kinds(lines)).toMatch(/^(whole )*left( left)*$/);
    // The lines together never claim more body bytes than reached the client (heads and all).
    expect(sum(lines)).toBeLessThanOrEqual(got);
  });

  it('a client gone mid-page: client_closed for the page it was given when it left', async () => {
    const { v, log } = await pagedVeer(front, '1m');
    const s = stuck(v, pageRequest.repeat(PAGES));
    let got = 0;
    s.on('data', (c: Buffer) => {
      got += c.length;
      if (got > 2.5 * PAGE.length) s.pause();
    });
    s.resume();
    // Two pages and a half read: veer is far behind on the twelve it owes, then the client goes.
    await waitFor(() => got > 2.5 * PAGE.length, { what: 'two pages and a half read', timeoutMs: 10_000 });
    s.destroy();
    const lines = await settledLines(v, log);
    // The two pages read and those the kernel took whole, then the one it left in (and any queued behind it).
    expect(kinds(lines)).toMatch(/^whole (whole )+left( left)*$/);
  });
});

describe('over HTTP/2, the line of an own answer not taken whole', () => {
  const page = { ':path': '/', ':authority': 'page.test', accept: 'text/html' };
  const notFound = { ':path': '/x', ':authority': 'nowhere.test' };

  it.each([
    ['a 503 page', page, 503],
    ['a 404', notFound, 404],
  ] as const)(
    'a stream that never opens its window to %s is reset: client_closed, 0 bytes',
    async (_, headers, code) => {
      const { v, log } = await pagedVeer('lean', '1s');
      const s = h2Request(h, v.port, headers);
      await waitFor(() => s.rstCode === 11, { what: 'ENHANCE_YOUR_CALM', timeoutMs: 5_000 });
      const [line] = await settledLines(v, log);
      expect([line?.status, line?.error, line?.bytesOut]).toEqual([code, 'client_closed', 0]);
    },
  );

  it('a stream the client cancels mid-page: client_closed, the bytes its window let out', async () => {
    const { v, log } = await pagedVeer('lean', '1m');
    const s = h2Request(h, v.port, page, 65_535);
    let got = 0;
    s.on('data', (c: Buffer) => {
      got += c.length;
      s.pause(); // no more window: veer holds the rest of the page
    });
    await waitFor(() => got > 0, { what: 'some of the page', timeoutMs: 5_000 });
    s.close(8); // CANCEL
    const [line] = await settledLines(v, log);
    const bytes = line?.bytesOut as number;
    // At least what the client got, short of the page by what veer still held (its pieces are 16 KiB over HTTP/2).
    expect([line?.status, line?.error, bytes >= got && bytes < PAGE.length]).toEqual([503, 'client_closed', true]);
  });
});
