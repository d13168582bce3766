// More of veer's own answers whose client did not take them whole: a 308 to https (tls.redirect), a gRPC request's
// Trailers-Only error, and a maintenance page, all given by the ingress. Such a client left: its line says
// `client_closed` (the status sent) and it is counted once in veer_proxy_answers_total{code="client_closed"}, whether
// it was cut for reading none of its answer or closed mid-way. Before, a redirect or a gRPC error cut on node:http's
// front was logged whole (its socket called the write in flight done), and a client that closed mid-way through an
// ingress answer was logged client_closed yet never counted.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { accessLines, accessLogFile, type AccessLine } from '../../helpers/access-lines.js';
import { testCa } from '../../helpers/certs.js';
import { clientClosed, owedOrCut } from '../../helpers/left-answers.js';
import { h2Request } from '../../helpers/h2-stream.js';
import { stalledClient } from '../../helpers/stalled-client.js';
import { http, service, useHarness, waitFor, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();
const ca = testCa();
afterAll(() => ca.remove());
const pair = ca.issue(['a.test']);

/** Just under the 1 MiB a page file may hold. */
const PAGE = Buffer.alloc(1024 * 1024 - 64, 'x');
/** A path long enough that each redirect's Location is 8 KB: 1500 of them outgrow loopback's socket buffers. */
const LONG = `/${'p'.repeat(8000)}`;
const redirectRequest = `GET ${LONG} HTTP/1.1\r\nHost: a.test\r\n\r\n`;
/** A gRPC call to no service: a head alone (Trailers-Only), about 300 bytes; 40000 outgrow the buffers. */
const grpcRequest =
  'POST /pkg.Svc/Call HTTP/1.1\r\nHost: nowhere.test\r\ncontent-type: application/grpc\r\ncontent-length: 0\r\n\r\n';
const pageRequest = 'GET / HTTP/1.1\r\nHost: page.test\r\nAccept: text/html\r\n\r\n';

/** veer with a certificate for a.test (plain requests for it are redirected) and a service in maintenance. */
async function ownVeer(front: 'node' | 'lean', body: string, traced = true): Promise<{ v: TestVeer; log: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'veer-own-more-'));
  h.defer(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'maintenance.html'), PAGE);
  const shut = service('shut', [], [], {
    match: { hosts: ['page.test'] },
    maintenance: { page: join(dir, 'maintenance.html') },
  });
  const log = accessLogFile(h);
  const v = await h.veer({
    services: [shut],
    // Untraced: no request ids and no access log, so no access entry is opened for a request at all.
    proxy: { front, timeouts: { body }, ...(traced ? {} : { requestIdHeader: false }) },
    tls: { certificates: [pair] },
    accessLog: traced ? { output: log } : { enabled: false },
  });
  const on = { on: true, mode: 'page' };
  const url = `${v.adminUrl}/v1/services/shut/maintenance`;
  const headers = { 'content-type': 'application/json' };
  expect((await http(url, { method: 'POST', headers, body: JSON.stringify(on) })).status).toBe(200);
  return { v, log };
}

/**
 * Every line written once veer has seen its client go (counted, or a line says so; bounded: on failure the lines as
 * they are) and nothing is in flight any more. In flight alone can read 0 before veer saw the client go: node:http
 * stops reading a connection whose answers wait, and every answer it started may have been handed over.
 */
async function settledLines(v: TestVeer, log: string): Promise<AccessLine[]> {
  const gone = async (): Promise<boolean> =>
    (await clientClosed(v)) > 0 || accessLines(log).some((l) => l.error === 'client_closed');
  await waitFor(gone, { what: 'the client seen gone', timeoutMs: 10_000 }).catch(() => undefined);
  await waitFor(() => v.plane.inFlight === 0, { what: 'every answer closed', timeoutMs: 20_000 });
  expect(await v.plane.accessLog.flushed()).toBe(true);
  return accessLines(log);
}

/** veer_proxy_answers_total{code}. */
async function answered(v: TestVeer, code: string): Promise<number> {
  const m = await http(`${v.adminUrl}/metrics`);
  const line = new RegExp(`veer_proxy_answers_total\\{[^}]*code="${code}"[^}]*\\} (\\d+)`).exec(m.text);
  return Number(line?.[1] ?? 0);
}

/**
 * Each line as what it says: `whole` (the answer's status and code, `bytes` out), `left` (its client left: the
 * status sent, or 499 if none was, and no more bytes: all of them when the kernel had the whole answer as its
 * client reset), or the line itself. Also how many lines say `left`.
 */
function kinds(lines: AccessLine[], status: number, code: string | null, bytes: number): [string, number] {
  const kind = (l: AccessLine): string => {
    const [s, error, out] = [l.status, l.error, l.bytesOut as number];
    if (s === status && error === code && out === bytes) return 'whole';
    if ((s === status || s === 499) && error === 'client_closed' && out <= bytes) return 'left';
    return JSON.stringify(l);
  };
  const all = lines.map(kind);
  return [all.join(' '), all.filter((k) => k === 'left').length];
}

/** A client that reads `n` bytes of what it asked for (or all, if less comes), then closes its connection. */
async function readThenClose(s: Socket, n: number): Promise<void> {
  let got = 0;
  s.on('data', (c: Buffer) => {
    got += c.length;
    if (got > n) s.pause();
  });
  s.resume();
  await waitFor(() => got > n, { what: `${n} bytes read`, timeoutMs: 10_000 });
  s.destroy();
}

/**
 * Twelve pipelined 503 pages of `code`, the client reads two and a half, then closes: the client leaving is counted
 * once, each answer's code once (when veer answered), never one request twice.
 */
async function pagesClosedMidway(v: TestVeer, log: string, code: string): Promise<void> {
  await readThenClose(stalledClient(h, v.port, pageRequest.repeat(12)), 2.5 * PAGE.length);
  const all = await settledLines(v, log);
  const [lines, left] = kinds(all, 503, code, PAGE.length);
  const counted = [await clientClosed(v), await answered(v, code)];
  const pattern = /^whole (whole )+left( left)*$/;
  expect({ lines, counted }).toEqual({ lines: expect.stringMatching(pattern), counted: [left, all.length] });
}

describe.each(['node', 'lean'] as const)('proxy.front: %s, own answers of the ingress not taken whole', (front) => {
  // veer's own front already logged a cut redirect as a client that left (and the cut counted it): node:http's did not.
  it.runIf(front === 'node')(
    'redirects cut for reading none of them: client_closed, each client counted once',
    async () => {
      const { v, log } = await ownVeer(front, '1s');
      stalledClient(h, v.port, redirectRequest.repeat(1500));
      await waitFor(() => owedOrCut(v), { what: 'an answer owed or cut', timeoutMs: 5_000 });
      const [lines, left] = kinds(await settledLines(v, log), 308, null, 0);
      expect({ lines, counted: await clientClosed(v) }).toEqual({
        lines: expect.stringMatching(/^(whole )*left( left)*$/),
        counted: left,
      });
    },
  );

  it('redirects whose client closes mid-way: client_closed, each client counted once', async () => {
    const { v, log } = await ownVeer(front, '1m');
    await readThenClose(stalledClient(h, v.port, redirectRequest.repeat(1500)), 1024 * 1024);
    const [lines, left] = kinds(await settledLines(v, log), 308, null, 0);
    expect({ lines, counted: await clientClosed(v) }).toEqual({
      lines: expect.stringMatching(/^(whole )+left( left)*$/),
      counted: left,
    });
  });

  it('gRPC errors cut for reading none of them: client_closed, each client counted once', async () => {
    const { v, log } = await ownVeer(front, '1s');
    stalledClient(h, v.port, grpcRequest.repeat(40_000));
    await waitFor(() => owedOrCut(v), { what: 'an answer owed or cut', timeoutMs: 5_000 });
    const [lines, left] = kinds(await settledLines(v, log), 404, 'no_route', 0);
    expect({ lines, counted: await clientClosed(v) }).toEqual({
      lines: expect.stringMatching(/^(whole )*left( left)*$/),
      counted: left,
    });
  });

  it('a maintenance page its client closes mid-way: counted once as client_closed, its code once', async () => {
    const { v, log } = await ownVeer(front, '1m');
    await pagesClosedMidway(v, log, 'maintenance');
  });
});

describe.each(['node', 'lean'] as const)('proxy.front: %s, an error page given after routing', (front) => {
  it('its client closes mid-way: counted once as client_closed, its code once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'veer-own-more-'));
    h.defer(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, '503.html'), PAGE);
    // Routed, with no target to send to (and no wait for one): the exchange answers 503 no_targets with the page.
    const empty = service('empty', [], [], {
      match: { hosts: ['page.test'] },
      errorPages: { 503: join(dir, '503.html') },
    });
    const log = accessLogFile(h);
    const v = await h.veer({
      services: [empty],
      proxy: { front, timeouts: { body: '1m', waitForTarget: '0s' } },
      accessLog: { output: log },
    });
    await pagesClosedMidway(v, log, 'no_targets');
  });
});

describe('over HTTP/2, a maintenance page whose stream its client cancels mid-page', () => {
  const page = { ':path': '/', ':authority': 'page.test', accept: 'text/html' };

  /** A stream given one window of the page, then cancelled: veer holds the rest of the page. */
  async function cancelledMidPage(v: TestVeer): Promise<void> {
    const s = h2Request(h, v.port, page, 65_535);
    let got = 0;
    s.on('data', (c: Buffer) => {
      got += c.length;
      s.pause();
    });
    await waitFor(() => got > 0, { what: 'some of the page', timeoutMs: 5_000 });
    s.close(8); // CANCEL
    await waitFor(() => v.plane.inFlight === 0, { what: 'the answer closed', timeoutMs: 10_000 });
  }

  it('its line says client_closed, and it is counted once as one', async () => {
    const { v, log } = await ownVeer('lean', '1m');
    await cancelledMidPage(v);
    const [lines] = kinds(await settledLines(v, log), 503, 'maintenance', PAGE.length);
    expect({ lines, counted: await clientClosed(v) }).toEqual({ lines: 'left', counted: 1 });
  });

  it('with no request ids and no access log, it is counted once as one all the same', async () => {
    const { v } = await ownVeer('lean', '1m', false);
    await cancelledMidPage(v);
    expect([await clientClosed(v), await answered(v, 'maintenance')]).toEqual([1, 1]);
  });
});
