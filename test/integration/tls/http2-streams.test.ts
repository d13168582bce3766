// HTTP/2 requests read straight from their streams (no node:http2 compatibility objects): what node:http2's
// compatibility layer did for veer is still done. "Expect: 100-continue" gets its interim 100 and any other
// expectation a 417; a HEAD answer is whole; an answer that comes before the request's body was read lets
// the stream, and veer's shutdown, finish; a client that drops mid-upload stops the upstream request.
import { connect as h2connect, type ClientHttp2Stream } from 'node:http2';
import { connect as tcpConnect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { accessLogFile, waitForLines } from '../../helpers/access-lines.js';
import { testCa } from '../../helpers/certs.js';
import { http, service, useHarness, waitFor } from '../../helpers/veer.js';

const h = useHarness();
const ca = testCa();
afterAll(() => ca.remove());
const pair = ca.issue(['a.test']);

function connectH2(port: number) {
  const session = h2connect(`https://a.test:${port}`, { host: '127.0.0.1', servername: 'a.test', ca: ca.caPem });
  session.on('error', () => {});
  h.defer(() => session.destroy());
  return session;
}

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
  /** Interim (1xx) statuses, in order. */
  interim: number[];
}

/** The stream's answer, whole: resolves when the stream has closed. */
function answerOf(stream: ClientHttp2Stream): Promise<Answer> {
  const interim: number[] = [];
  let head: Record<string, unknown> = {};
  let body = '';
  stream.on('headers', (hd) => interim.push(Number(hd[':status'])));
  stream.on('response', (hd) => (head = hd));
  stream.setEncoding('utf8');
  stream.on('data', (c: string) => (body += c));
  stream.on('error', () => {});
  return new Promise((resolve) =>
    stream.on('close', () => resolve({ status: Number(head[':status']), headers: head, body, interim })),
  );
}

/** One HTTP/2 frame. */
function frame(type: number, flags: number, id: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  [head[3], head[4]] = [type, flags];
  head.writeUInt32BE(id, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK field without indexing, its name from the static table (`index`) or given (`name`). */
function field(value: string, index: number, name?: string): Buffer {
  const v = Buffer.concat([Buffer.from([value.length]), Buffer.from(value)]);
  if (name === undefined) return Buffer.concat([Buffer.from([index]), v]);
  return Buffer.concat([Buffer.from([0, name.length]), Buffer.from(name), v]);
}

/**
 * h2c prior knowledge in one write: the preface, SETTINGS, a stream's HEADERS (END_HEADERS, END_STREAM when
 * `ends`), DATA, its RST_STREAM with `code`, and a PING. Node reads them all before it emits the stream to veer;
 * resolves once the PING is answered (so the stream was handled) and the connection is closed.
 */
function resetInOneRead(port: number, fields: Buffer[], code: number, ends: boolean): Promise<void> {
  const rst = Buffer.alloc(4);
  rst.writeUInt32BE(code);
  const bytes = Buffer.concat([
    Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
    frame(4, 0, 0, Buffer.alloc(0)),
    frame(1, ends ? 5 : 4, 1, Buffer.concat(fields)),
    ...(ends ? [] : [frame(0, 0, 1, Buffer.from('{}'))]),
    frame(3, 0, 1, rst),
    frame(6, 0, 0, Buffer.alloc(8)), // a PING: its ACK says the server has taken every frame before it
  ]);
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1', () => socket.write(bytes));
    let got = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      for (let at = 0; at + 9 <= got.length; at += 9 + got.readUIntBE(at, 3))
        if (got[at + 3] === 6 && got[at + 4] === 1) return void socket.destroy(); // PING ACK
    });
    socket.on('close', () => resolve());
  });
}

describe('HTTP/2 streams, read without the compatibility objects', () => {
  it('a stream reset in the same read as its head is refused or served without a throw (veer stays up)', async () => {
    const up = await h.upstream('stable');
    const v = await h.veer({ services: [service('web', [up.address], [], { match: { pathPrefix: '/web' } })] });
    // :method (2), :path (4), :scheme (6), :authority (1) from HPACK's static table.
    const post = (path: string) => [field('POST', 2), field(path, 4), field('http', 6), field('a.test', 1)];
    const cases: Array<[Buffer[], boolean]> = [
      [[field('CONNECT', 2), field('a.test:443', 1)], true], // refused 405
      [[...post('/web'), field('bogus', 0, 'expect')], true], // refused 417
      [[...post('/web'), field('100-continue', 0, 'expect')], false], // the interim 100
      [[...post('/nowhere'), field('application/grpc', 0, 'content-type')], false], // a gRPC refusal (no route)
      [[field('GET', 2), field('/web', 4), field('http', 6), field('a.test', 1)], true], // served
    ];
    const codes = [0, 8]; // NO_ERROR, CANCEL
    for (const [fields, ends] of cases) for (const code of codes) await resetInOneRead(v.port, fields, code, ends);
    expect((await http(`${v.url}/web/after`)).status).toBe(200);
    expect((await v.plane.close(5_000)).drained).toBe(true); // no stream left holding the shutdown
  });

  it('answers "Expect: 100-continue" with an interim 100, then the body goes; another expectation is 417', async () => {
    const up = await h.upstream('stable');
    const v = await h.veer({ services: [service('web', [up.address])], tls: { certificates: [pair] } });
    const session = connectH2(v.tlsPort as number);
    const upload = session.request({ ':method': 'POST', ':path': '/up', expect: '100-continue' });
    const continued = new Promise<void>((resolve) => upload.once('continue', resolve));
    const answer = answerOf(upload);
    await continued; // the body waits for the 100, as a client that asked for it does
    upload.end('after the 100');
    expect(await answer).toMatchObject({ status: 200, body: 'stable', interim: [100] });
    expect(up.requests.find((r) => r.url === '/up')?.body).toBe('after the 100');

    const odd = answerOf(
      session.request({ ':method': 'POST', ':path': '/odd', expect: 'something-else' }, { endStream: true }),
    );
    const refused = await odd;
    expect(refused.status).toBe(417);
    expect(JSON.parse(refused.body).error.code).toBe('expectation_failed');
    expect(up.requests.some((r) => r.url === '/odd')).toBe(false);
  });

  it('answers HEAD with the head alone, logged as a whole answer', async () => {
    const file = accessLogFile(h);
    const up = await h.upstream('stable', { body: 'hello world' });
    const v = await h.veer({
      services: [service('web', [up.address])],
      tls: { certificates: [pair] },
      accessLog: { output: file },
    });
    const session = connectH2(v.tlsPort as number);
    const head = await answerOf(session.request({ ':method': 'HEAD', ':path': '/h' }));
    expect([head.status, head.body, head.headers['x-upstream']]).toEqual([200, '', 'stable']);
    const [line] = await waitForLines(file, 1);
    expect(line).toMatchObject({ method: 'HEAD', path: '/h', status: 200, error: null });
  });

  it('an answer before the body was read (no target): the stream finishes, and so does veer closing', async () => {
    const up = await h.upstream('stable');
    const v = await h.veer({
      services: [
        service('web', [up.address]),
        service('none', [], [], { match: { hosts: ['*'], pathPrefix: '/none' }, timeouts: { waitForTarget: 0 } }),
      ],
      tls: { certificates: [pair] },
    });
    const session = connectH2(v.tlsPort as number);
    // No Content-Length, and more than one flow-control window (64 KiB): veer must read past the window itself.
    const upload = session.request({ ':method': 'POST', ':path': '/none/x' });
    const answer = answerOf(upload);
    const chunk = Buffer.alloc(16 * 1024, 'x');
    for (let i = 0; i < 16; i++) upload.write(chunk);
    upload.end();
    const a = await answer;
    expect(a.status).toBe(503);
    expect(JSON.parse(a.body).error.code).toBe('no_targets');
    // The session is still open on the client's side: the close lets it finish its streams, and ends.
    expect((await v.plane.close(5_000)).drained).toBe(true);
  });

  it('an upload refused before its body was read is stopped (RST_STREAM NO_ERROR), not read to its end', async () => {
    const v = await h.veer({
      services: [service('none', [], [], { timeouts: { waitForTarget: 0 } })],
      tls: { certificates: [pair] },
    });
    const session = connectH2(v.tlsPort as number);
    const upload = session.request({ ':method': 'POST', ':path': '/big' });
    const answer = answerOf(upload);
    const closed = new Promise<void>((resolve) => upload.once('close', resolve));
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let sent = 0;
    // Bounded: 64 chunks of 64 KiB (4 MiB), each write waiting for room or for the stream's end.
    for (let i = 0; i < 64 && !upload.closed && !upload.destroyed; i++) {
      sent += chunk.length;
      if (!upload.write(chunk)) await Promise.race([new Promise((r) => upload.once('drain', r)), closed]);
    }
    const a = await answer;
    expect([a.status, upload.rstCode]).toEqual([503, 0]);
    expect(sent).toBeLessThan(1024 * 1024);
  });

  it('an upstream that answers before the body is whole: a whole answer, not a client that left', async () => {
    const file = accessLogFile(h);
    const up = await h.server((_req, res) => res.end('early'));
    const v = await h.veer({
      services: [service('web', [up.address])],
      tls: { certificates: [pair] },
      accessLog: { output: file },
    });
    const session = connectH2(v.tlsPort as number);
    const upload = session.request({ ':method': 'POST', ':path': '/early' });
    const answer = answerOf(upload);
    upload.write('the first part');
    await new Promise((resolve) => upload.once('response', resolve));
    upload.end('the rest, after the answer');
    expect(await answer).toMatchObject({ status: 200, body: 'early' });
    const [line] = await waitForLines(file, 1);
    expect(line).toMatchObject({ method: 'POST', path: '/early', status: 200, error: null });
    expect(v.plane.answers.entries().filter(([code]) => code === 'client_closed')).toEqual([]);
    expect((await v.plane.close(5_000)).drained).toBe(true);
  });

  it('a client that leaves mid-upload while its request waits for a target is counted once', async () => {
    const v = await h.veer({
      services: [service('none', [], [], { timeouts: { waitForTarget: 10_000 } })],
      tls: { certificates: [pair] },
    });
    const session = connectH2(v.tlsPort as number);
    const upload = session.request({ ':method': 'POST', ':path': '/wait' });
    upload.on('error', () => {});
    upload.write('part of a body');
    await waitFor(() => v.plane.waiting === 1, { what: 'the request waiting', timeoutMs: 5_000 });
    session.destroy();
    await waitFor(() => v.plane.waiting === 0, { what: 'the request released', timeoutMs: 5_000 });
    expect(v.plane.answers.entries().filter(([code]) => code === 'client_closed')).toEqual([['client_closed', 1]]);
  });

  it('an answer the upstream cuts short is reset with INTERNAL_ERROR, never ended as if whole', async () => {
    const up = await h.server((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }); // chunked: no length tells a cut body from a whole one
      res.write('the first half', () => res.socket?.destroy());
    });
    const v = await h.veer({ services: [service('web', [up.address])], tls: { certificates: [pair] } });
    const session = connectH2(v.tlsPort as number);
    const stream = session.request({ ':path': '/cut' });
    const a = await answerOf(stream);
    expect([a.status, a.body, stream.rstCode]).toEqual([200, 'the first half', 2]);
  });

  it('a client whose connection drops mid-upload stops the upstream request', async () => {
    const seen: string[] = [];
    const up = await h.server((req) => {
      seen.push('head');
      req.on('data', () => seen.includes('data') || seen.push('data'));
      req.on('close', () => seen.push(req.complete ? 'complete' : 'cut'));
    });
    const v = await h.veer({ services: [service('web', [up.address])], tls: { certificates: [pair] } });
    const session = connectH2(v.tlsPort as number);
    const upload = session.request({ ':method': 'POST', ':path': '/slow' });
    upload.on('error', () => {});
    upload.write('part of a body');
    await waitFor(() => seen.includes('data'), { what: 'the first bytes upstream', timeoutMs: 5_000 });
    expect(v.plane.inFlight).toBe(1); // an HTTP/2 stream is a request in flight (veer_inflight_requests)
    // Not a reset: node:http2's client ends its side (END_STREAM) before it resets, a whole body by the protocol.
    session.destroy();
    await waitFor(() => seen.includes('cut'), { what: 'the upstream request cut', timeoutMs: 5_000 });
    await waitFor(() => v.plane.inFlight === 0, { what: 'the exchange released', timeoutMs: 5_000 });
    expect(seen).toEqual(['head', 'data', 'cut']);
    expect((await v.plane.close(5_000)).drained).toBe(true);
  });
});
