// The head veer's own HTTP/1.1 front writes (src/dataplane/http1/response-head.ts) held to the head node:http
// writes for the same answer, on the Node that runs the test: a real node:http server answers each case
// (as veer's node front does: no Date), the raw bytes are read over loopback, and the head must be the
// same bytes: fields in order, framing (Content-Length, chunked, or close for HTTP/1.0), Connection and
// Keep-Alive. And what node:http refuses to write (a bad name, a control character) throws here too.
import { createServer, type OutgoingHttpHeaders, type Server } from 'node:http';
import { createConnection, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responseHead } from '../../../src/dataplane/http1/response-head.js';
import { withTimeout } from '../../helpers/process.js';

interface Case {
  name: string;
  method: 'GET' | 'HEAD';
  version: '1.0' | '1.1';
  /** The request asks to close (1.1) or to keep the connection (1.0). */
  connection?: 'close' | 'keep-alive';
  status: number;
  statusText?: string;
  headers: string[] | OutgoingHttpHeaders;
  body: string;
}

const CASES: Case[] = [
  {
    name: 'length',
    method: 'GET',
    version: '1.1',
    status: 200,
    headers: ['content-length', '2', 'x-a', '1'],
    body: 'ok',
  },
  { name: 'no length: chunked', method: 'GET', version: '1.1', status: 200, headers: ['x-a', '1'], body: 'ok' },
  {
    name: 'reason phrase',
    method: 'GET',
    version: '1.1',
    status: 502,
    statusText: 'Upstream Gone',
    headers: [],
    body: '',
  },
  { name: '204', method: 'GET', version: '1.1', status: 204, headers: ['x-a', '1'], body: '' },
  { name: '304', method: 'GET', version: '1.1', status: 304, headers: ['etag', '"x"'], body: '' },
  {
    name: 'HEAD with length',
    method: 'HEAD',
    version: '1.1',
    status: 200,
    headers: ['content-length', '10'],
    body: '',
  },
  { name: 'HEAD no length', method: 'HEAD', version: '1.1', status: 200, headers: ['x-a', '1'], body: '' },
  {
    name: 'client asks close',
    method: 'GET',
    version: '1.1',
    connection: 'close',
    status: 200,
    headers: [],
    body: 'x',
  },
  { name: 'HTTP/1.0 no length', method: 'GET', version: '1.0', status: 200, headers: ['x-a', '1'], body: 'x' },
  {
    name: 'HTTP/1.0 keep-alive, length',
    method: 'GET',
    version: '1.0',
    connection: 'keep-alive',
    status: 200,
    headers: ['content-length', '1'],
    body: 'x',
  },
  {
    name: 'HTTP/1.0 keep-alive, no length',
    method: 'GET',
    version: '1.0',
    connection: 'keep-alive',
    status: 200,
    headers: [],
    body: 'x',
  },
  {
    name: 'object form, arrays, numbers',
    method: 'GET',
    version: '1.1',
    status: 404,
    headers: { 'content-type': 'application/json', 'content-length': 2, 'set-cookie': ['a=1', 'b=2'] },
    body: '{}',
  },
  {
    name: 'latin-1 value',
    method: 'GET',
    version: '1.1',
    status: 200,
    headers: ['x-l', 'caf\u00e9', 'content-length', '0'],
    body: '',
  },
  {
    name: 'handler says close',
    method: 'GET',
    version: '1.1',
    status: 200,
    headers: ['connection', 'close', 'content-length', '0'],
    body: '',
  },
];

const KEEP_ALIVE_MS = 65_000;
let server: Server;
let port = 0;
const byPath = new Map<string, Case>();

beforeAll(async () => {
  server = createServer({ keepAliveTimeout: KEEP_ALIVE_MS }, (req, res) => {
    const c = byPath.get(req.url ?? '') as Case;
    res.sendDate = false;
    if (c.statusText === undefined) res.writeHead(c.status, c.headers);
    else res.writeHead(c.status, c.statusText, c.headers as string[]);
    res.end(c.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

/** node:http's head for `c`, read off the wire (up to the blank line). */
async function nodeHead(c: Case, path: string): Promise<string> {
  const socket = createConnection({ port, host: '127.0.0.1' });
  let raw = '';
  socket.setEncoding('latin1');
  const head = new Promise<string>((resolve, reject) => {
    socket.on('data', (d: string) => {
      raw += d;
      const end = raw.indexOf('\r\n\r\n');
      if (end >= 0) resolve(raw.slice(0, end + 4));
    });
    socket.on('error', reject);
  });
  const connection = c.connection === undefined ? '' : `Connection: ${c.connection}\r\n`;
  socket.write(`${c.method} ${path} HTTP/${c.version}\r\nHost: a\r\n${connection}\r\n`);
  try {
    return await withTimeout(head, 5_000, `node:http's head for ${c.name}`);
  } finally {
    socket.destroy();
  }
}

describe("veer's own front writes the head node:http writes", () => {
  it.each(CASES)('$name', async (c) => {
    const path = `/${encodeURIComponent(c.name)}`;
    byPath.set(path, c);
    const ours = responseHead({
      status: c.status,
      statusText: c.statusText ?? null,
      headers: c.headers,
      head: c.method === 'HEAD',
      http11: c.version === '1.1',
      keepAlive: c.version === '1.1' ? c.connection !== 'close' : c.connection === 'keep-alive',
      keepAliveS: Math.floor(KEEP_ALIVE_MS / 1000),
    });
    expect(ours.text).toBe(await nodeHead(c, path));
  });

  it('refuses what node:http refuses to write', () => {
    const facts = { status: 200, statusText: null, head: false, http11: true, keepAlive: true, keepAliveS: 65 };
    for (const headers of [
      ['bad name', 'v'],
      ['x-a', 'v\r\nx-b: smuggled'],
      ['x-a', 'nul\0'],
      ['x-a', 'bell\u0007'],
    ])
      expect(() => responseHead({ ...facts, headers })).toThrow(/invalid/);
    expect(responseHead({ ...facts, headers: ['x-a', 'tab\there'] }).text).toContain('x-a: tab\there\r\n');
  });
});
