// A proxied answer whose client left (closed, reset, or was cut by veer for not reading) logs as bytesOut the body
// bytes that left veer for the kernel, as veer's own answers do: before, it logged every byte handed to the response,
// including those still waiting in veer (its socket's buffer, its HTTP/2 stream's) when the client went. Each test
// holds a large answer in veer behind a client that stopped reading, then ends the client, and compares the line
// with what veer's end of the connection handed to its kernel (HTTP/1.1) or what the client's window let out (0).
import { constants, type ClientHttp2Stream } from 'node:http2';
import { createConnection, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { accessLogFile, waitForLines } from '../../helpers/access-lines.js';
import { h2Request } from '../../helpers/h2-stream.js';
import { inKernel, veerSides } from '../../helpers/veer-side-socket.js';
import { service, useHarness, waitFor, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();

// More than every buffer between the upstream and the client can hold, so the upstream is held back: loopback's
// buffers grow to several MiB each here (tcp_wmem 4 MiB, tcp_rmem 32 MiB), and 8 MiB once fit in them whole.
const BODY = 256 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 120);

/** An upstream sending BODY with backpressure: `pumped` bytes so far, `blocked` while it waits for veer to read. */
interface Pump {
  pumped: number;
  blocked: boolean;
}

async function setup(front: 'lean' | 'node', body: string): Promise<{ v: TestVeer; log: string; up: Pump }> {
  const up: Pump = { pumped: 0, blocked: false };
  const server = await h.server((_req, res) => {
    res.writeHead(200, { 'content-length': String(BODY) });
    const pump = (): void => {
      up.blocked = false;
      while (up.pumped < BODY) {
        up.pumped += CHUNK.length;
        if (!res.write(CHUNK)) return void ((up.blocked = true), res.once('drain', pump));
      }
      res.end();
    };
    pump();
  });
  const log = accessLogFile(h);
  const proxy = { front, timeouts: { body } };
  const v = await h.veer({ services: [service('web', [server.address])], proxy, accessLog: { output: log } });
  return { v, log, up };
}

/**
 * Until the upstream is held back by veer, the same in two looks in a row: veer's client stopped taking the answer.
 * Over HTTP/1.1 (`veerSide`), also until part of the answer waits in veer's socket while its kernel takes no more:
 * on a loaded machine a look fell between veer's socket emptying into a kernel buffer that had grown and veer
 * reading on, with the upstream idle and nothing waiting in veer.
 */
async function stalled(up: Pump, veerSide?: Socket): Promise<void> {
  let last = '';
  await waitFor(
    () => {
      const now = veerSide === undefined ? `${up.pumped}` : `${up.pumped} ${inKernel(veerSide)}`;
      const same = up.blocked && now === last && (veerSide === undefined || veerSide.writableLength > 0);
      last = now;
      return same;
    },
    { what: 'the upstream held back by a client that stopped reading', timeoutMs: 10_000, intervalMs: 150 },
  );
}

async function theLine(log: string) {
  const [line] = await waitForLines(log, 1);
  return line as { status: number; error: string | null; bytesOut: number };
}

/** An HTTP/1.1 client that asks for the answer and reads its first 64 KiB, then nothing more. */
function slowReader(v: TestVeer): { s: Socket; got: { bytes: number; head: number } } {
  const s = createConnection({ host: '127.0.0.1', port: v.port });
  s.on('error', () => undefined);
  h.defer(() => s.destroy());
  const got = { bytes: 0, head: 0 };
  let seen = Buffer.alloc(0);
  s.on('data', (d: Buffer) => {
    if (got.head === 0) seen = Buffer.concat([seen, d]);
    if (got.head === 0 && seen.includes('\r\n\r\n')) got.head = seen.indexOf('\r\n\r\n') + 4;
    got.bytes += d.length;
    if (got.bytes >= 64 * 1024) s.pause();
  });
  s.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\n');
  return { s, got };
}

describe.each(['lean', 'node'] as const)('proxy.front: %s, a proxied answer its client did not take whole', (front) => {
  it.each([
    ['resets its connection', '60s', (s: Socket) => s.resetAndDestroy()],
    ['closes its connection', '60s', (s: Socket) => s.destroy()],
    ['is cut by veer for not reading', '1s', () => undefined],
  ])('its client %s: bytesOut is what left veer, not what waited in it', async (_, body, end) => {
    const { v, log, up } = await setup(front, body);
    const sides = veerSides(h);
    const { s, got } = slowReader(v);
    await waitFor(() => s.localPort !== undefined && sides.of(s.localPort), { what: "veer's end of the connection" });
    const veerSide = sides.of(s.localPort as number) as Socket;
    await stalled(up, veerSide); // and some of the answer waits in veer
    const sent = inKernel(veerSide) - got.head; // its body bytes in veer's kernel: none moves while the client stalls
    end(s);
    const line = await theLine(log);
    expect({
      error: line.error,
      within: line.bytesOut <= sent,
      atLeastRead: line.bytesOut >= got.bytes - got.head,
    }).toEqual({ error: 'client_closed', within: true, atLeastRead: true });
  });
});

describe('over HTTP/2, a proxied answer its client never opened its window to', () => {
  it.each([
    ['cancels its stream', '60s', (s: ClientHttp2Stream) => s.close(constants.NGHTTP2_CANCEL)],
    ['is cut by veer for not reading', '1s', () => undefined],
    // Its FIN alone (nothing unread: its window is 0) ends veer's session at once: the client can send nothing more.
    ['closes its session (its FIN ends it)', '60s', (s: ClientHttp2Stream) => s.session?.destroy()],
  ])('its client %s: bytesOut is 0, none of it left veer', async (_, body, end) => {
    const { log, v, up } = await setup('lean', body);
    const s = h2Request(h, v.port, { ':path': '/big' }); // a window of 0: no body byte may leave veer
    await stalled(up);
    end(s);
    const line = await theLine(log);
    expect({ status: line.status, error: line.error, bytesOut: line.bytesOut }).toEqual({
      status: 200,
      error: 'client_closed',
      bytesOut: 0,
    });
  });
});
