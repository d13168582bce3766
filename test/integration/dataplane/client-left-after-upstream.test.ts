// A client that closes its own connection (or resets its HTTP/2 stream) while part of an answer the upstream had
// already finished still waits in veer did not take that answer whole: it is a client that left, counted once as
// `client_closed` in veer's answers and logged 200 `client_closed`, as one that leaves while the upstream is still
// sending is (never the pool's error). Before, nothing was counted and its access line said `truncated` (veer's
// own cut) on the lean front and HTTP/2, and `truncated` or a whole 200 on node:http's front, whose socket calls
// a write in flight done as it is destroyed. An answer already handed whole to the kernel stays whole: what the
// client does with it then is not veer's to see (nginx logs it so too).
import { constants, type ClientHttp2Stream } from 'node:http2';
import { createConnection, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { accessLines, accessLogFile } from '../../helpers/access-lines.js';
import { h2Request } from '../../helpers/h2-stream.js';
import { leftTraces } from '../../helpers/left-answers.js';
import { countersOf } from '../../helpers/pool-counters.js';
import { service, useHarness, waitFor, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();

/**
 * One answer of a burst, small enough to reach veer in one read of its upstream client: once a client's socket
 * buffers are full, the first answer that does not fit is finished upstream and held in veer's buffer. (One large
 * answer cannot be held so: veer stops reading its upstream when the client's socket is full, so the upstream
 * finishes only once all but a read's worth of it is in the kernel, and how much that holds varies.)
 */
const PIECE = Buffer.alloc(16 * 1024, 120);
const PIECES = 2048;

/**
 * A target answering PIECE at once; veer with a body bound far longer than the test (no cut of veer's own) and a
 * log file. veer's own upstream client, whatever the suite's (VEER_TEST_UPSTREAM): undici reads ahead differently,
 * and with it no answer of the burst is finished upstream while the client is stalled (as in 4f93b70's test).
 */
async function veerWithLog(front: 'lean' | 'node'): Promise<{ v: TestVeer; log: string }> {
  const up = await h.server((_req, res) => res.end(PIECE));
  const log = accessLogFile(h);
  const proxy = { front, upstreamClient: 'lean', timeouts: { body: '60s' } };
  const v = await h.veer({ services: [service('web', [up.address])], proxy, accessLog: { output: log } });
  return { v, log };
}

/** An HTTP/1.1 client that asks for PIECE `PIECES` times at once, takes a little of the answers, then stops. */
function burstReader(v: TestVeer): Socket {
  const s = createConnection({ host: '127.0.0.1', port: v.port });
  s.on('error', () => undefined);
  h.defer(() => s.destroy());
  let got = 0;
  s.on('data', (d: Buffer) => {
    got += d.length;
    if (got >= 64 * 1024) s.pause();
  });
  s.write(`GET /piece HTTP/1.1\r\nHost: a\r\n\r\n`.repeat(PIECES));
  return s;
}

/**
 * Until one answer is finished upstream (the pool counted it) but not given (no line yet), the same in two looks
 * in a row: the client stopped taking answers, and no other starts until that one is given.
 */
async function oneHeld(v: TestVeer, log: string): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      const requests = (await countersOf(v)).stable.requests;
      if (!(await v.plane.accessLog.flushed())) return false;
      const now = `${requests}/${accessLines(log).length}`;
      const held = now === last && requests === accessLines(log).length + 1;
      last = now;
      return held;
    },
    { what: 'an answer finished upstream and held in veer', timeoutMs: 10_000 },
  );
}

/** The close's traces (left-answers.ts), once every answer was released: a connection gone starts nothing after it. */
async function traces(v: TestVeer, log: string) {
  await waitFor(() => v.plane.inFlight === 0, { what: 'the answers released', timeoutMs: 10_000 });
  return leftTraces(v, log);
}

const leftOnce = {
  notWhole: [{ status: 200, error: 'client_closed' }],
  clientClosed: 1,
  upstreamDone: 1,
  pool: { errors: 0, failing: [], ejected: [] },
};

describe.each(['lean', 'node'] as const)('proxy.front: %s, a client that closes its connection', (front) => {
  // A close with bytes unread sends a reset (Linux); a FIN alone leaves nothing to tell: veer's next write is reset.
  it.each([
    ['closes it (destroy)', (s: Socket) => s.destroy()],
    ['resets it', (s: Socket) => s.resetAndDestroy()],
  ])('while veer holds the rest of an answer the upstream finished: left, counted once, %s', async (_, close) => {
    const { v, log } = await veerWithLog(front);
    const s = burstReader(v);
    await oneHeld(v, log);
    close(s);
    expect(await traces(v, log)).toEqual(leftOnce);
  });
});

// A client that closes its whole session instead (its FIN alone: nothing unread, its window is 0) is gone as well:
// veer destroys the session on that FIN, and the held answer is left, counted once, as after a reset.
describe('over HTTP/2, a client that leaves while veer holds an answer the upstream finished', () => {
  it.each([
    ['resets its stream', (s: ClientHttp2Stream) => s.close(constants.NGHTTP2_CANCEL)],
    ['closes its session (FIN)', (s: ClientHttp2Stream) => s.session?.destroy()],
  ])('%s: left, counted once', async (_, leave) => {
    const { v, log } = await veerWithLog('lean');
    const s = h2Request(h, v.port, { ':path': '/piece' }); // a window of 0: the answer waits in veer
    await waitFor(async () => (await countersOf(v)).stable.requests === 1, { what: 'the upstream finished' });
    leave(s);
    expect(await traces(v, log)).toEqual(leftOnce);
  });
});
