// A client that takes none of a proxied answer for `timeouts.body` is cut as a client that left: counted once as
// `client_closed` in veer's answers, its access line `client_closed`, never the pool's error. Before, that held
// only while the upstream was still sending: when the upstream had already sent the whole answer (veer held the
// rest in its socket buffers), the cut was counted nowhere and its access line said 200 with no error (HTTP/1.1:
// the socket calls a write in flight done as it is destroyed) or `truncated` (HTTP/2); the lean front even started
// the next pipelined request on the dead connection, sent it upstream and counted it as a client that left.
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { accessLogFile } from '../../helpers/access-lines.js';
import { h2Request } from '../../helpers/h2-stream.js';
import { stalledClient } from '../../helpers/stalled-client.js';
import { leftTraces, owedOrCut } from '../../helpers/left-answers.js';
import { service, useHarness, waitFor, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();

/**
 * One answer of a burst, small enough to reach veer in one read of its upstream client: once a client's socket
 * buffers are full, the first answer that does not fit is finished upstream and held in veer's buffer. Loopback's
 * buffers take a few MiB, so a client asks for far more than that.
 */
const PIECE = Buffer.alloc(16 * 1024, 120);
const PIECES = 2048;
/** An answer small enough to be held for the end of its turn (lean-response.ts): as many, for as many bytes. */
const SMALL = Buffer.alloc(1024, 120);
const SMALLS = 8192;
/** Far more than veer reads ahead: the upstream is still sending when the client is cut. */
const SENDING = Buffer.alloc(64 * 1024 * 1024, 120);

/** A target answering /piece, /sending and /mid (40 kB) at once; veer with a 1 s body bound and a log file. */
async function veerWithLog(front: 'lean' | 'node'): Promise<{ v: TestVeer; log: string }> {
  const up = await h.server((req, res) => {
    const paths: Record<string, Buffer> = { '/piece': PIECE, '/small': SMALL, '/sending': SENDING };
    res.end(paths[req.url ?? ''] ?? SENDING.subarray(0, 40_000));
  });
  const log = accessLogFile(h);
  // veer's own upstream client, whatever the suite's (VEER_TEST_UPSTREAM): how far undici's reads ahead differs, and
  // with it no answer of the burst is finished upstream while the client is stalled.
  const proxy = { front, upstreamClient: 'lean', timeouts: { body: '1s' } };
  const v = await h.veer({ services: [service('web', [up.address])], proxy, accessLog: { output: log } });
  return { v, log };
}

/** An HTTP/1.1 client that asks for `path` (`times` requests at once) and never reads. */
function stuckSocket(v: TestVeer, path: string, times = 1): Socket {
  return stalledClient(h, v.port, `GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`.repeat(times));
}

/** The cut's traces (left-answers.ts): a connection cut starts no request after it. */
const traces = leftTraces;

const cutOnce = { notWhole: [{ status: 200, error: 'client_closed' }], clientClosed: 1 };

describe.each(['lean', 'node'] as const)('proxy.front: %s, a client that never reads a proxied answer', (front) => {
  it.each([
    ['after the upstream finished sending it', '/piece', PIECES, 1],
    ['after the upstream finished sending it, in small answers', '/small', SMALLS, 1],
    ['while the upstream is still sending it', '/sending', 1, 0],
  ])('is cut and counted as a client that left, %s', async (_, path, times, upstreamDone) => {
    const { v, log } = await veerWithLog(front);
    stuckSocket(v, path, times);
    await waitFor(() => owedOrCut(v), { what: 'an answer owed or cut', timeoutMs: 5_000 });
    await waitFor(() => v.plane.inFlight === 0, { what: 'the stalled client cut', timeoutMs: 10_000 });
    expect(await traces(v, log)).toEqual({
      ...cutOnce,
      // The upstream's own answer counts as its success when it finished; a cut is never the pool's error.
      upstreamDone,
      pool: { errors: 0, failing: [], ejected: [] },
    });
  });
});

describe('over HTTP/2, a stream that never opens its window to a proxied answer the upstream finished', () => {
  it('is reset, counted once as a client that left, and logged so', async () => {
    const { v, log } = await veerWithLog('lean');
    const s = h2Request(h, v.port, { ':path': '/mid' });
    await waitFor(() => s.rstCode === 11, { what: 'ENHANCE_YOUR_CALM', timeoutMs: 5_000 });
    expect(await traces(v, log)).toEqual({
      ...cutOnce,
      upstreamDone: 1,
      pool: { errors: 0, failing: [], ejected: [] },
    });
  });
});
