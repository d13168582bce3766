// Slow clients of an h2c service, all together: an h2c answer is never paused, so what its client has not read
// waits in veer, up to 16 MiB per call; the process holds all of them to one budget (backlog-budget.ts). Past
// it, the largest backlogs are reset (ENHANCE_YOUR_CALM, as a client that left), and the others are kept whole.
import { connect, constants, createServer, type ClientHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { processBacklog } from '../../../src/dataplane/backlog-budget.js';
import { countersOf } from '../../helpers/pool-counters.js';
import { service, useHarness, waitFor } from '../../helpers/veer.js';

const h = useHarness();
const MiB = 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 1);
const CALLS = 12;

/** An h2c upstream streaming 1 MiB per call as fast as veer takes it; `over` counts the calls ended or cancelled. */
async function downloads() {
  let over = 0;
  const up = createServer((_req, res) => {
    res.on('close', () => over++);
    res.writeHead(200, { 'content-type': 'application/grpc' });
    let sent = 0;
    const pump = (): void => {
      while (sent < MiB) {
        sent += CHUNK.length;
        if (!res.write(CHUNK)) return void res.once('drain', pump);
      }
      res.addTrailers({ 'grpc-status': '0' });
      res.end();
    };
    pump();
  });
  up.on('session', (s) => s.on('error', () => undefined));
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
  h.defer(() => new Promise<void>((r) => up.close(() => r())));
  return { address: `127.0.0.1:${(up.address() as AddressInfo).port}`, over: () => over };
}

describe('the backlog budget of h2c answers', () => {
  it('resets the largest backlogs past it, keeps the total under it; the rest reach their clients whole', async () => {
    const limit = 4 * MiB;
    processBacklog.limit = limit;
    h.defer(() => (processBacklog.limit = 256 * MiB));
    const up = await downloads();
    const v = await h.veer({ services: [service('api', [up.address], [], { upstream: { protocol: 'h2c' } })] });
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, processBacklog.total)), 2);
    h.defer(() => clearInterval(sampler));
    // A client whose streams never open their window: every byte of every call waits in veer.
    const session = connect(`http://127.0.0.1:${v.port}`, { settings: { initialWindowSize: 0 } });
    session.on('error', () => undefined);
    h.defer(() => session.destroy());
    const streams: ClientHttp2Stream[] = [];
    const got = new Map<ClientHttp2Stream, number>();
    for (let i = 0; i < CALLS; i++) {
      const s = session.request({ ':method': 'POST', ':path': '/pkg.S/Download', 'content-type': 'application/grpc' });
      s.on('error', () => undefined);
      s.on('data', (c: Buffer) => got.set(s, (got.get(s) ?? 0) + c.length));
      s.end();
      streams.push(s);
    }
    // Each call ends upstream: whole (veer holding all of it for its client), or cancelled by a cut.
    await waitFor(() => up.over() === CALLS, { what: 'every call over upstream', timeoutMs: 10_000 });
    expect(most).toBeLessThanOrEqual(limit);
    expect(processBacklog.total).toBeLessThanOrEqual(limit);
    // The client reads at last: what veer kept for it arrives whole, the rest was reset.
    session.settings({ initialWindowSize: 65_535 });
    await waitFor(() => streams.every((s) => s.closed), { what: 'every call read or reset', timeoutMs: 10_000 });
    const reset = streams.filter((s) => s.rstCode === constants.NGHTTP2_ENHANCE_YOUR_CALM);
    const kept = streams.filter((s) => !reset.includes(s));
    expect(reset.length).toBeGreaterThanOrEqual(CALLS - 4);
    expect(kept.length).toBeGreaterThan(0);
    // What veer held for the kept calls, all of it at once before the client read: within the budget.
    expect(kept.length * MiB).toBeLessThanOrEqual(limit);
    for (const s of kept) expect([s.rstCode, got.get(s)]).toEqual([constants.NGHTTP2_NO_ERROR, MiB]);
    expect(processBacklog.total).toBe(0);
    const c = await countersOf(v, 'api');
    expect([c.stable.errors, c.failing]).toEqual([0, []]);
  });
});
