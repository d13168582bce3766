// Shutdown's first step on a connection of veer's own HTTP/1.1 front (LeanConnection.closeIfIdle), as
// node:http's closeIdleConnections does it: a connection owing nothing with no request begun stops reading
// and closes, so a request crossing that close is never started (never sent upstream without an answer);
// one whose head has begun is read on and its request answered, with Connection: close.
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { LeanConnection } from '../../../src/dataplane/http1/lean-connection.js';
import type { LeanPorts } from '../../../src/dataplane/http1/lean-ports.js';
import type { LeanRequest } from '../../../src/dataplane/http1/lean-request.js';
import type { LeanResponse } from '../../../src/dataplane/http1/lean-response.js';
import { useHarness, waitFor } from '../../helpers/veer.js';

const h = useHarness();
const LIMITS = { keepAliveTimeout: 10_000, headersTimeout: 60_000, requestTimeout: 0, maxHeaderSize: 16_384 };

/** One connection served alone: the requests it starts (each answered 200 once its body is read), its reads. */
async function served() {
  const s = {
    started: [] as string[],
    closing: false,
    conn: null as LeanConnection | null,
    socket: null as Socket | null,
  };
  const reads = { count: 0 };
  const ports = {
    start: (req: LeanRequest, res: LeanResponse) => {
      s.started.push(`${req.method} ${req.url}`);
      req.on('end', () => res.end('ok'));
      req.resume();
    },
    refer: () => undefined,
    refused: () => undefined,
    closing: () => s.closing,
    owed: () => undefined,
    forget: () => undefined,
  };
  const server = createServer((socket) => {
    s.socket = socket;
    s.conn = new LeanConnection(socket, LIMITS, ports as unknown as LeanPorts, () => performance.now());
    // After the connection's own listener: each read it was given.
    socket.on('data', () => reads.count++);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  h.defer(() => new Promise((resolve) => server.close(resolve)));
  h.defer(() => s.socket?.destroy());
  // Half-open, as a client still sending when veer's end reaches it.
  const client = createConnection({
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    allowHalfOpen: true,
  });
  const got = { text: '', ended: false };
  client.on('data', (d: Buffer) => (got.text += d.toString('latin1')));
  client.on('end', () => ((got.ended = true), client.end()));
  client.on('error', () => undefined);
  h.defer(() => client.destroy());
  await new Promise((resolve) => client.once('connect', resolve));
  await waitFor(() => s.conn, { what: 'the connection' });
  return { s, reads, client, got, conn: () => s.conn as LeanConnection };
}

const statuses = (text: string): string[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1] as string);

describe("veer's own HTTP/1.1 front at shutdown", () => {
  it('closes a connection owing nothing and starts no request that crosses the close', async () => {
    const c = await served();
    c.client.write('GET /first HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor(() => statuses(c.got.text).length === 1, { what: 'the first answer' });
    c.s.closing = true;
    c.conn().closeIfIdle();
    c.client.write('POST /order HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello');
    await waitFor(() => c.got.ended, { what: "veer's end" });
    // Even once its bytes are read, the request that crossed the end is not started.
    c.s.socket?.resume();
    await waitFor(() => c.reads.count === 2, { what: 'the crossing request to be read' });
    expect(c.s.started).toEqual(['GET /first']);
    expect(statuses(c.got.text)).toEqual(['200']);
  });

  it('reads on a connection whose head has begun and answers its request, with Connection: close', async () => {
    const c = await served();
    c.client.write('POST /order HTTP/1.1\r\nHost: a\r\n');
    await waitFor(() => c.reads.count === 1, { what: 'the head begun' });
    c.s.closing = true;
    c.conn().closeIfIdle();
    c.client.write('Content-Length: 5\r\n\r\nhello');
    await waitFor(() => c.s.started.length === 1, { what: 'the request started' });
    await waitFor(() => c.got.ended, { what: 'the answer, then the end' });
    expect(c.s.started).toEqual(['POST /order']);
    expect(statuses(c.got.text)).toEqual(['200']);
    expect(c.got.text.toLowerCase()).toContain('\r\nconnection: close\r\n');
  });
});
