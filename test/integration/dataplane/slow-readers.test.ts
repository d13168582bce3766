// Clients that stop reading an answer: each holds its upstream connection while its answer is paused, so a
// few of them would starve a target with few connections. A client that takes none of its answer for
// `timeouts.body` is cut (its connection, or its HTTP/2 stream) and the upstream connection is freed, counted
// as the client's doing; a request queued for a connection meanwhile waits at most `timeouts.header`.
import { connect as h2connect, type ClientHttp2Stream } from 'node:http2';
import { createConnection, type Socket } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { DeadlineSweep } from '../../../src/dataplane/upstream-deadlines.js';
import { countersOf } from '../../helpers/pool-counters.js';
import { h2Request } from '../../helpers/h2-stream.js';
import { http, service, useHarness, waitFor, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();
const { watchUntil } = DeadlineSweep.prototype;

/** Far more than the socket buffers between veer and a client hold: a client that never reads pauses it. */
const BIG = Buffer.alloc(48 * 1024 * 1024, 120);

/** Four connections to a target serving /big, /mid (40 kB) and /small; upstream connections dropped are counted. */
async function fourConnections(timeouts: Record<string, string>) {
  let dropped = 0;
  const up = await h.server((req, res) =>
    res.end(req.url === '/big' ? BIG : req.url === '/mid' ? BIG.subarray(0, 40_000) : 'small'),
  );
  // Kept alive by veer unless it drops them (no answer here ends while its client is stuck).
  up.server.on('connection', (s: Socket) => s.on('close', () => dropped++));
  const v = await h.veer({ services: [service('web', [up.address])], proxy: { connectionsPerTarget: 4, timeouts } });
  return { v, dropped: () => dropped };
}

/** An HTTP/1.1 client that asks for /big and never reads. */
function stuckSocket(v: TestVeer): Socket {
  const s = createConnection({ host: '127.0.0.1', port: v.port });
  s.pause();
  s.on('error', () => undefined);
  s.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\n');
  h.defer(() => s.destroy());
  return s;
}

/** What a paused socket holds once it is read to its end (bounded): the answer veer had sent before the cut. */
function drain(s: Socket): Promise<number> {
  return new Promise((resolve) => {
    let n = 0;
    const timer = setTimeout(() => s.destroy(), 10_000);
    s.on('data', (c: Buffer) => (n += c.length));
    s.on('close', () => {
      clearTimeout(timer);
      resolve(n);
    });
    s.resume();
  });
}

describe('clients that stop reading', () => {
  it('are cut after timeouts.body without taking a byte, freeing the target for the others', async () => {
    const { v, dropped } = await fourConnections({ body: '1s' });
    const stuck = [0, 1, 2, 3].map(() => stuckSocket(v));
    const t0 = Date.now();
    await waitFor(() => dropped() === 4, { what: 'the four upstream answers cut', timeoutMs: 8_000 });
    // The body bound (1 s) from the pause on, checked every 50 ms: never before it, and not long after.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000);
    const other = await http(`${v.url}/small`, { timeoutMs: 5_000 });
    expect([other.status, other.text]).toEqual([200, 'small']);
    // What each stuck client had got stops short of the answer: it was cut, not served.
    const got = await Promise.all(stuck.map(drain));
    for (const n of got) expect(n).toBeLessThan(BIG.length);
    const c = await countersOf(v);
    expect([c.stable.errors, c.failing, c.ejected]).toEqual([0, [], []]);
    const metrics = await http(`${v.adminUrl}/metrics`);
    expect(metrics.text).toMatch(/veer_proxy_answers_total\{[^}]*code="client_closed"[^}]*\} 4\b/);
  });

  it('are not cut while they keep reading, slower than the upstream sends', async () => {
    const { v, dropped } = await fourConnections({ body: '1s' });
    const s = stuckSocket(v);
    let closed = false;
    s.on('close', () => (closed = true));
    // A client that takes 512 kB every 100 ms (its kernel reopens the window only once a good part of its buffer is
    // free, so a client much slower than that can see no progress for seconds), three times the bound long.
    let [read, allowed] = [0, 0];
    s.on('data', (c: Buffer) => void ((read += c.length) >= allowed && s.pause()));
    for (let tick = 0; tick < 30 && !closed; tick++) {
      allowed += 512 * 1024;
      s.resume();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect([closed, dropped()]).toEqual([false, 0]);
    expect(read).toBeGreaterThan(4 * 1024 * 1024);
  });

  it('answer a request queued behind them within timeouts.header (504, not counted against the pool)', async () => {
    const { v, dropped } = await fourConnections({ body: '30s', header: '1s' });
    for (let i = 0; i < 4; i++) stuckSocket(v);
    await waitFor(() => v.plane.inFlight >= 4, { what: 'four downloads in flight', timeoutMs: 5_000 });
    const t0 = Date.now();
    const queued = await http(`${v.url}/small`, { timeoutMs: 8_000 });
    expect(queued.status).toBe(504);
    expect(JSON.parse(queued.text).error.code).toBe('upstream_timeout');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(dropped()).toBe(0);
    const c = await countersOf(v);
    expect([c.stable.errors, c.failing, c.ejected]).toEqual([0, [], []]);
  });

  it('over HTTP/2, a stream that never opens its window is reset and its upstream connection freed', async () => {
    const { v, dropped } = await fourConnections({ body: '1s' });
    const session = h2connect(`http://127.0.0.1:${v.port}`, { settings: { initialWindowSize: 0 } });
    session.on('error', () => undefined);
    h.defer(() => session.destroy());
    const streams: ClientHttp2Stream[] = [];
    for (let i = 0; i < 4; i++) {
      const s = session.request({ ':path': '/big' });
      s.on('error', () => undefined);
      s.pause();
      s.end();
      streams.push(s);
    }
    await waitFor(() => dropped() === 4, { what: 'the four upstream answers cut', timeoutMs: 8_000 });
    const other = await http(`${v.url}/small`, { timeoutMs: 5_000 });
    expect([other.status, other.text]).toEqual([200, 'small']);
    await waitFor(() => streams.every((s) => s.rstCode === 11), {
      what: 'ENHANCE_YOUR_CALM on each',
      timeoutMs: 5_000,
    });
    const c = await countersOf(v);
    expect([c.stable.errors, c.failing, c.ejected]).toEqual([0, [], []]);
  });

  it('over HTTP/2, an answer the upstream finished but the client never takes is reset after the bound', async () => {
    const { v } = await fourConnections({ body: '1s' });
    const s = h2Request(h, v.port, { ':path': '/mid' });
    const t0 = Date.now();
    await waitFor(() => s.rstCode === 11, { what: 'ENHANCE_YOUR_CALM', timeoutMs: 5_000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000);
    // Never the pool's error. Whether the upstream's end was read before the cut (counted then as its success)
    // depends on the upstream client: veer's own reads it into its buffer, undici's leaves it to backpressure.
    const c = await countersOf(v);
    expect(c.stable.errors).toBe(0);
    expect(c.stable.requests).toBeLessThanOrEqual(1);
  });

  it('hold no answered exchange once its client took the answer (none waits out the bound)', async () => {
    const watched = new Set<DeadlineSweep>();
    const spy = vi.spyOn(DeadlineSweep.prototype, 'watchUntil');
    h.defer(() => spy.mockRestore());
    spy.mockImplementation(function (this: DeadlineSweep, d, at) {
      watched.add(this);
      return watchUntil.call(this, d, at);
    });
    const { v } = await fourConnections({ body: '1m' });
    for (let i = 0; i < 20; i++) expect((await http(`${v.url}/mid`)).status).toBe(200);
    expect(watched.size).toBe(1);
    const [sweep] = [...watched] as [DeadlineSweep];
    await waitFor(() => sweep.size === 0, 'the sweep to let go of every answered exchange', 3_000);
  });
});
