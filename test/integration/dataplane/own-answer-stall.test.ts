// A client that never reads veer's OWN answers (an error page up to 1 MiB, a burst of pipelined 404s) is cut after
// `timeouts.body` like a slow reader of a proxied answer, on either HTTP/1.1 front and over HTTP/2: before, its
// connection (or stream) was held for good, as no exchange watched those answers and neither front bounds a
// socket while it owes an answer. Loopback's socket buffers take a few MiB, so each client asks for more.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { owedOrCut } from '../../helpers/left-answers.js';
import { stalledClient } from '../../helpers/stalled-client.js';
import { h2Request } from '../../helpers/h2-stream.js';
import { withTimeout } from '../../helpers/process.js';
import { http, service, useHarness, waitFor, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();

/** Just under the 1 MiB a page file may hold. */
const PAGE = Buffer.alloc(1024 * 1024 - 64, 'x');

async function pageFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'veer-stall-'));
  h.defer(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, '503.html');
  await writeFile(path, PAGE);
  return path;
}

/** A service with no target (503 no_targets at once), its 503 page 1 MiB, on host page.test only. */
async function pagedVeer(front: 'node' | 'lean', body = '1s'): Promise<TestVeer> {
  const none = service('none', [], [], {
    match: { hosts: ['page.test'] },
    timeouts: { waitForTarget: '0s' },
    errorPages: { 503: await pageFile() },
  });
  return h.veer({ services: [none], proxy: { front, timeouts: { body } } });
}

/** A client that sends `requests` at once and never reads. */
const stuck = (v: TestVeer, requests: string): Socket => stalledClient(h, v.port, requests);

/** Reads what the socket holds until veer's close reaches it: the bytes, or null when it stays open past 5 s. */
function closedAfterDrain(s: Socket): Promise<number | null> {
  return new Promise((resolve) => {
    let n = 0;
    const timer = setTimeout(() => resolve(null), 5_000);
    s.on('data', (c: Buffer) => (n += c.length));
    s.on('close', () => {
      clearTimeout(timer);
      resolve(n);
    });
    s.resume();
  });
}

async function answersOf(v: TestVeer, code: string): Promise<number> {
  const m = await http(`${v.adminUrl}/metrics`);
  const line = new RegExp(`veer_proxy_answers_total\\{[^}]*code="${code}"[^}]*\\} (\\d+)`).exec(m.text);
  return Number(line?.[1] ?? 0);
}

const pageRequest = 'GET / HTTP/1.1\r\nHost: page.test\r\nAccept: text/html\r\n\r\n';
const noRoute = 'GET /nothing/here HTTP/1.1\r\nHost: nowhere.test\r\n\r\n';

describe.each(['node', 'lean'] as const)('proxy.front: %s, a client that never reads an answer of veer', (front) => {
  it('is cut after timeouts.body: 1 MiB error pages, twelve pipelined', async () => {
    const v = await pagedVeer(front);
    const s = stuck(v, pageRequest.repeat(12));
    const t0 = Date.now();
    await waitFor(() => owedOrCut(v), { what: 'an answer owed or cut', timeoutMs: 5_000 });
    await waitFor(() => v.plane.inFlight === 0, { what: 'the stalled answer cut', timeoutMs: 8_000 });
    // Never before the bound (1 s from the answer's first look), checked every 50 ms.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000);
    const got = await closedAfterDrain(s);
    expect(got).not.toBeNull();
    expect(got as number).toBeLessThan(12 * PAGE.length);
    // Counted as a client that left, once; every answer it was given as its code.
    expect(await answersOf(v, 'client_closed')).toBe(1);
    expect(await answersOf(v, 'no_targets')).toBeGreaterThan(0);
  });

  it('is cut after timeouts.body: a burst of pipelined 404s', async () => {
    const v = await pagedVeer(front);
    const s = stuck(v, noRoute.repeat(40_000));
    await waitFor(() => owedOrCut(v), { what: 'an answer owed or cut', timeoutMs: 5_000 });
    await waitFor(() => v.plane.inFlight === 0, { what: 'the stalled answer cut', timeoutMs: 15_000 });
    expect(await closedAfterDrain(s)).not.toBeNull();
    expect(await answersOf(v, 'client_closed')).toBe(1);
  });

  it('a client that reads gets pipelined 1 MiB pages whole, in order, and the answer after them', async () => {
    const v = await pagedVeer(front, '5s');
    const s = stuck(v, pageRequest.repeat(3) + noRoute);
    let text = '';
    s.setEncoding('latin1');
    s.on('data', (c: string) => (text += c));
    s.resume();
    await waitFor(() => /"no_route"/.test(text), { what: 'the 404 after three pages', timeoutMs: 15_000 });
    expect(text.match(/HTTP\/1\.1 503 /g)).toHaveLength(3);
    expect(text.split('x'.repeat(PAGE.length)).length).toBe(4);
    expect(await answersOf(v, 'client_closed')).toBe(0);
  });

  it('is not cut while it reads, and no answer it took stays watched', async () => {
    const v = await pagedVeer(front, '1m');
    for (let i = 0; i < 10; i++) {
      const r = await http(`${v.url}/`, { headers: { host: 'page.test', accept: 'text/html' } });
      expect([r.status, r.text.length]).toEqual([503, PAGE.length]);
      expect((await http(`${v.url}/x`, { headers: { host: 'nowhere.test' } })).status).toBe(404);
    }
    // Each was looked at once by the next sweep (50 ms), not held for the minute of its bound.
    await waitFor(() => v.plane.answers.unread.size === 0, { what: 'no answer watched', timeoutMs: 2_000 });
    expect(await answersOf(v, 'client_closed')).toBe(0);
  });
});

describe('over HTTP/2, a stream that never opens its window to an answer of veer', () => {
  it.each(['404 no_route', '503 page'])('is reset after timeouts.body (%s)', async (which) => {
    const v = await pagedVeer('lean');
    const headers =
      which === '503 page'
        ? { ':path': '/', ':authority': 'page.test', accept: 'text/html' }
        : { ':path': '/x', ':authority': 'nowhere.test' };
    const s = h2Request(h, v.port, headers);
    const status = await new Promise<number>((resolve) => s.once('response', (h2) => resolve(Number(h2[':status']))));
    expect(status).toBe(which === '503 page' ? 503 : 404);
    const t0 = Date.now();
    await waitFor(() => s.rstCode === 11, { what: 'ENHANCE_YOUR_CALM', timeoutMs: 5_000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(await answersOf(v, 'client_closed')).toBe(1);
  });

  it('a stream reading a 1 MiB page steadily for longer than timeouts.body gets it whole', async () => {
    const v = await pagedVeer('lean');
    const s = h2Request(h, v.port, { ':path': '/', ':authority': 'page.test', accept: 'text/html' }, 65_535);
    // About 256 KB/s: four times the 1 s bound for the whole page, never a second without taking bytes.
    const rate = 256 * 1024;
    const t0 = Date.now();
    let got = 0;
    s.on('data', (c: Buffer) => {
      got += c.length;
      const ahead = (got / rate) * 1000 - (Date.now() - t0);
      if (ahead <= 0) return;
      s.pause();
      setTimeout(() => s.resume(), Math.min(ahead, 50));
    });
    const ended = new Promise<string>((resolve) => {
      s.once('end', () => resolve('end'));
      s.once('close', () => resolve(`closed, rstCode ${s.rstCode}`));
    });
    await expect(withTimeout(ended, 20_000, 'the page read whole')).resolves.toBe('end');
    expect(got).toBe(PAGE.length);
    expect(Date.now() - t0).toBeGreaterThan(2_000);
    expect(await answersOf(v, 'client_closed')).toBe(0);
  });
});
