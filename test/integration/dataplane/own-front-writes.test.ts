// The bytes an answer of veer's own HTTP/1.1 front puts on the wire, for each way an answer is written: a
// string body (UTF-8, its length in bytes), a head with its first body chunk (copied into one buffer up to
// 16 KB, written as it is above), a chunked answer (each chunk framed in one buffer up to 16 KB, in pieces above
// that; held until the turn's end, so that an end in the same turn joins it), a bodyless one. And 'finish' once
// per answer, after its last byte was called back: the connection starts the next pipelined request on it, so a
// 'finish' missed or doubled shows as a missing or repeated answer. A chunk held for the turn's end still leaves
// at that end when the answer stays open (a stream).
import type { EventEmitter } from 'node:events';
import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { FrontResponse } from '../../../src/dataplane/front.js';
import { leanServer } from '../../helpers/lean-server.js';
import { useHarness, waitFor } from '../../helpers/veer.js';

const h = useHarness();
const UTF8 = 'héllo ✓ wörld';
const BIG = Buffer.alloc(20_000, 'x');

/** How each path is answered; the answers of some come a turn later, as a proxied answer's body does. */
const ANSWERS: Record<string, (res: FrontResponse) => void> = {
  '/utf8': (res) => res.end(UTF8),
  '/small': (res) => {
    res.writeHead(200, { 'content-length': '5' });
    res.write(Buffer.from('abcde'));
    res.end();
  },
  // Head and body held for the turn's end (one plain write); a second write in the same turn goes out behind them.
  '/small-more': (res) => {
    res.writeHead(200, { 'content-length': '10' });
    res.write(Buffer.from('abcde'));
    res.write(Buffer.from('fghij'));
    res.end();
  },
  // The held head and body leave at their turn's end; the rest comes a turn later.
  '/small-later': (res) => {
    res.writeHead(200, { 'content-length': '10' });
    res.write(Buffer.from('abcde'));
    setImmediate(() => (res.write(Buffer.from('fghij')), res.end()));
  },
  '/big': (res) => {
    res.writeHead(200, { 'content-length': String(BIG.length) });
    res.write(BIG);
    setImmediate(() => res.end());
  },
  '/chunked': (res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write(Buffer.from('ab'));
    setImmediate(() => (res.write(Buffer.from('cd')), res.end()));
  },
  // A chunk above the merge size (its head goes first, on its own), a small one after it, one more a turn later.
  '/chunked-mixed': (res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write(BIG);
    res.write(Buffer.from(UTF8));
    setImmediate(() => (res.write(Buffer.from('z')), res.end()));
  },
  // Behind a chunk above the merge size (its head corks the turn), two small ones in the same turn, each held until
  // the next is written.
  '/chunked-three': (res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write(BIG);
    res.write(Buffer.from('ab'));
    res.write(Buffer.from('cd'));
    res.end();
  },
  // A chunk held for the turn's end goes out then; the end, a turn later, is the last chunk alone.
  '/chunked-late-end': (res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write(Buffer.from('held'));
    setImmediate(() => res.end());
  },
  '/empty': (res) => {
    res.writeHead(204);
    res.end();
  },
};

type Eleven = [Answer, Answer, Answer, Answer, Answer, Answer, Answer, Answer, Answer, Answer, Answer];

interface Answer {
  status: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** The answers in `raw`, framed by Content-Length or chunked coding (no body for a 204). */
function parse(raw: Buffer): Answer[] {
  const out: Answer[] = [];
  let at = 0;
  for (let n = 0; at < raw.length && n < 100; n++) {
    const end = raw.indexOf('\r\n\r\n', at);
    if (end < 0) throw new Error(`a head without its end at byte ${at}`);
    const [line = '', ...fields] = raw.subarray(at, end).toString('latin1').split('\r\n');
    const headers = Object.fromEntries(
      fields.map((f) => [f.slice(0, f.indexOf(':')).toLowerCase(), f.slice(f.indexOf(':') + 1).trim()]),
    );
    at = end + 4;
    const status = line.split(' ')[1] ?? '';
    let body: Buffer = Buffer.alloc(0);
    if (headers['transfer-encoding'] === 'chunked') {
      for (let size = -1, m = 0; size !== 0 && m < 100; m++) {
        const eol = raw.indexOf('\r\n', at);
        size = Number.parseInt(raw.subarray(at, eol).toString('latin1'), 16);
        body = Buffer.concat([body, raw.subarray(eol + 2, eol + 2 + size)]);
        at = eol + 2 + size + 2;
      }
    } else if (status !== '204') {
      const length = Number(headers['content-length']);
      body = raw.subarray(at, at + length);
      at += length;
    }
    out.push({ status, headers, body });
  }
  return out;
}

/** A request answered with `head` and `first` and left open: the answer, and what its client has read so far. */
async function openAnswer(
  head: Record<string, string>,
  first: string,
): Promise<{ answer: () => FrontResponse; got: () => string }> {
  let answer: FrontResponse | null = null;
  const server = await leanServer((_req, res) => {
    res.writeHead(200, head);
    res.write(Buffer.from(first));
    answer = res;
  });
  h.defer(() => server.close());
  const socket = createConnection({ host: '127.0.0.1', port: server.port });
  h.defer(() => socket.destroy());
  let got = '';
  socket.on('data', (d: Buffer) => (got += d.toString('latin1'))).on('error', () => undefined);
  socket.write('GET /open HTTP/1.1\r\nHost: t\r\n\r\n');
  const started = (): FrontResponse => {
    if (answer === null) throw new Error('the request was not started');
    return answer;
  };
  return { answer: started, got: () => got };
}

describe("veer's own HTTP/1.1 front: an answer's bytes", () => {
  it('writes each kind of answer whole and in order, and finishes each once', async () => {
    const finished: string[] = [];
    const server = await leanServer((req, res) => {
      (res as FrontResponse & EventEmitter).on('finish', () => finished.push(req.url ?? ''));
      (ANSWERS[req.url ?? ''] ?? ((r: FrontResponse) => ((r.statusCode = 404), r.end())))(res);
    });
    h.defer(() => server.close());

    const paths = ['/utf8', '/small', '/small-more', '/small-later', '/big', '/chunked', '/chunked-mixed'];
    paths.push('/chunked-three', '/chunked-late-end', '/empty', '/small');
    const socket = createConnection({ host: '127.0.0.1', port: server.port });
    h.defer(() => socket.destroy());
    const chunks: Buffer[] = [];
    let closed = false;
    socket.on('data', (d: Buffer) => chunks.push(d)).on('close', () => (closed = true));
    socket.on('error', () => undefined);
    // All in one write, the last closing the connection: each is started once the answer before it finished.
    socket.write(
      paths
        .map((p, i) => `GET ${p} HTTP/1.1\r\nHost: t\r\n${i === paths.length - 1 ? 'Connection: close\r\n' : ''}\r\n`)
        .join(''),
    );
    await waitFor(() => closed, { what: 'every answer, then the close', timeoutMs: 10_000 });

    const answers = parse(Buffer.concat(chunks));
    expect(answers.map((a) => a.status)).toEqual(paths.map((p) => (p === '/empty' ? '204' : '200')));
    const [utf8, small, more, later, big, chunked, mixed, three, lateEnd, empty, last] = answers as Eleven;
    expect(utf8.body.toString('utf8')).toBe(UTF8);
    expect(Number(utf8.headers['content-length'])).toBe(Buffer.byteLength(UTF8));
    expect(small.body.toString('latin1')).toBe('abcde');
    expect(more.body.toString('latin1')).toBe('abcdefghij');
    expect(later.body.toString('latin1')).toBe('abcdefghij');
    expect(big.body.equals(BIG)).toBe(true);
    expect(chunked.headers['transfer-encoding']).toBe('chunked');
    expect(chunked.body.toString('latin1')).toBe('abcd');
    expect(three.body.equals(Buffer.concat([BIG, Buffer.from('abcd')]))).toBe(true);
    expect(lateEnd.body.toString('latin1')).toBe('held');
    expect(mixed.body.equals(Buffer.concat([BIG, Buffer.from(UTF8, 'utf8'), Buffer.from('z')]))).toBe(true);
    expect(empty.body.length).toBe(0);
    expect(last.body.toString('latin1')).toBe('abcde');
    expect(last.headers.connection).toBe('close');
    expect(finished).toEqual(paths);
  });

  it('sends a head and its first bytes at the end of their turn, not when the answer ends (a length)', async () => {
    const open = await openAnswer({ 'content-length': '11' }, 'first ');
    await waitFor(() => open.got().endsWith('\r\n\r\nfirst '), {
      what: 'the head and first bytes, the answer open',
      timeoutMs: 5_000,
    });
    open.answer().end(Buffer.from('last!'));
    await waitFor(() => open.got().endsWith('first last!'), { what: 'the rest', timeoutMs: 5_000 });
  });

  it('sends a chunk at the end of the turn it was written in, not when the answer ends (a stream)', async () => {
    const open = await openAnswer({ 'content-type': 'text/event-stream' }, 'data: first\n\n');
    // The answer stays open: the first event must arrive while it does.
    await waitFor(() => open.got().includes('data: first'), {
      what: 'the first event, its answer still open',
      timeoutMs: 5_000,
    });
    expect(open.got()).not.toContain('0\r\n\r\n');
    open.answer().write(Buffer.from('data: second\n\n'));
    await waitFor(() => open.got().includes('data: second'), { what: 'the second event', timeoutMs: 5_000 });
    open.answer().end();
    await waitFor(() => open.got().endsWith('\r\n0\r\n\r\n'), { what: 'the last chunk', timeoutMs: 5_000 });
  });
});
