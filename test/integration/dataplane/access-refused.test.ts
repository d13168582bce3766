// Requests refused before veer had them whole leave one access line each, on either HTTP/1.1 front and over
// HTTP/2: Node's parser refusals (obs-fold 400, a head past maxHeaderSize 431), CONNECT 405, an Expect veer
// cannot meet (417). No entry is opened for them, so the line says what is known: peer, status, code, and
// the request line when it was read.
import { connect } from 'node:http2';
import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { accessLines, accessLogFile } from '../../helpers/access-lines.js';
import { rawExchange, service, useHarness, waitFor, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();

async function veerLogging(front: string): Promise<{ v: TestVeer; file: string }> {
  const file = accessLogFile(h);
  const up = await h.upstream('stable');
  const v = await h.veer({ services: [service('web', [up.address])], accessLog: { output: file }, proxy: { front } });
  return { v, file };
}

/** The lines `send` added, once every queued line is written. */
async function linesOf(v: TestVeer, file: string, send: () => Promise<unknown>) {
  const before = accessLines(file).length;
  await send();
  expect(await v.plane.accessLog.flushed()).toBe(true);
  return accessLines(file).slice(before);
}

const known = (method: string | null, path: string | null) => ({ kind: 'access', client: '127.0.0.1', method, path });

describe.each(['lean', 'node'])('access lines of refused requests, %s front', (front) => {
  it("Node's parser refusals: obs-fold 400, a head past maxHeaderSize 431, CONNECT 405", async () => {
    const { v, file } = await veerLogging(front);
    const shapes: Array<[string, number, string, ReturnType<typeof known>]> = [
      ['GET /fold HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n', 400, 'bad_request', known('GET', '/fold')],
      [
        `GET /big HTTP/1.1\r\nHost: a\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`,
        431,
        'headers_too_large',
        known('GET', '/big'),
      ],
      [
        'CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n',
        405,
        'method_not_allowed',
        known('CONNECT', 'a.test:443'),
      ],
      ['NOT HTTP AT ALL\r\n\r\n', 400, 'bad_request', known(null, null)],
    ];
    for (const [payload, status, error, fields] of shapes) {
      const lines = await linesOf(v, file, async () => {
        const r = await rawExchange(v.port, payload);
        expect(r.data.startsWith(`HTTP/1.1 ${status} `), r.data.slice(0, 40)).toBe(true);
      });
      expect(lines, error).toHaveLength(1);
      expect(lines[0]).toMatchObject({ ...fields, status, error, requestId: null, service: null });
    }
  });

  it('an Expect other than 100-continue: 417 and one line', async () => {
    const { v, file } = await veerLogging(front);
    const payload = 'POST /up HTTP/1.1\r\nHost: a\r\nExpect: foo\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';
    const lines = await linesOf(v, file, async () => {
      expect((await rawExchange(v.port, payload)).data).toMatch(/^HTTP\/1\.1 417 /);
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ ...known('POST', '/up'), host: 'a', status: 417, error: 'expectation_failed' });
  });
});

describe.each(['lean', 'node'])('a request whose body breaks once it was routed, %s front', (front) => {
  it('leaves its own line only, not a second one for the refusal', async () => {
    const file = accessLogFile(h);
    let reached = false;
    const up = await h.server((req, res) => {
      reached = true;
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    const v = await h.veer({ services: [service('web', [up.address])], accessLog: { output: file }, proxy: { front } });
    const socket = createConnection({ host: '127.0.0.1', port: v.port });
    socket.on('error', () => undefined);
    h.defer(() => socket.destroy());
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    let closed = false;
    socket.on('close', () => (closed = true));
    socket.write('POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
    await waitFor(() => reached, 'the request to reach the upstream');
    socket.write('zz\r\n'); // not a chunk size: the body breaks
    await waitFor(() => closed, `the connection to close (got ${JSON.stringify(answer.slice(0, 30))})`);
    await waitFor(() => accessLines(file).length >= 1, 'its line');
    expect(await v.plane.accessLog.flushed()).toBe(true);
    const lines = accessLines(file);
    expect(lines, JSON.stringify(lines)).toHaveLength(1);
    expect(lines[0]).toMatchObject({ method: 'POST', path: '/b', service: 'web' });
  });
});

describe('access lines of refused HTTP/2 streams', () => {
  it('an Expect other than 100-continue: 417 and one line', async () => {
    const { v, file } = await veerLogging('lean');
    const session = connect(`http://127.0.0.1:${v.port}`);
    session.on('error', () => undefined);
    h.defer(() => session.destroy());
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const s = session.request(headers);
        s.on('response', (r) => resolve(Number(r[':status'])));
        s.on('error', reject);
        s.resume();
        s.end();
      });
    const lines = await linesOf(v, file, async () => {
      expect(await status({ ':method': 'POST', ':path': '/h2', expect: 'nope' })).toBe(417);
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ ...known('POST', '/h2'), status: 417, error: 'expectation_failed' });
    expect(lines[0]?.host).toBe(`127.0.0.1:${v.port}`);
  });
});
