// What an HTTP/1.1 front without node:http reaches: the bare proxy's undici dispatch (bare-proxy.mjs) behind a
// raw `net` server whose requests are parsed by llhttp, the parser Node's own server uses, here undici's
// WebAssembly build of it, strict as Node's (no lenient flags). It keeps what a real front cannot drop: bodies
// (length and chunked, with backpressure), answers in request order when a client pipelines, keep-alive as
// llhttp decides it, chunked answers when the upstream gives no length, 400 on any request llhttp refuses, and
// one write per response (corked). It leaves out what veer's front adds on top (upgrades, HTTP/2, TLS, timeouts
// beyond idle, limits): it is the budget a leaner front for veer would start from, measured against the bare
// proxy side by side. Prints {"port": N}. Usage: node lean-front.mjs <upstreamPort>
import net from 'node:net';
import { STATUS_CODES } from 'node:http';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { Pool } from 'undici';

const require = createRequire(import.meta.url);
// undici's own files (it has no exports map): the wasm parser its client uses for responses, run here for requests.
const C = require('undici/lib/llhttp/constants.js');
const METHOD_NAMES = [];
for (const [name, n] of Object.entries(C.METHODS)) METHOD_NAMES[n] = name.replace('_', '-');

function parserModule() {
  try {
    return new WebAssembly.Module(require('undici/lib/llhttp/llhttp_simd-wasm.js'));
  } catch {
    return new WebAssembly.Module(require('undici/lib/llhttp/llhttp-wasm.js'));
  }
}

// One wasm instance serves every connection: execute() runs to completion, so "the connection being parsed"
// and its chunk are module state while it runs, as in undici's client.
let current = null;
let chunk = null;
let chunkAt = 0; // the wasm address chunk was copied to
const text = (at, len) => chunk.latin1Slice(at - chunkAt, at - chunkAt + len);
const L = new WebAssembly.Instance(parserModule(), {
  env: {
    wasm_on_message_begin: () => current.onBegin(),
    wasm_on_url: (_p, at, len) => current.onUrl(text(at, len)),
    wasm_on_status: () => 0,
    wasm_on_header_field: (_p, at, len) => current.onField(text(at, len)),
    wasm_on_header_value: (_p, at, len) => current.onValue(text(at, len)),
    wasm_on_headers_complete: (_p, _status, upgrade) => current.onHeadersComplete(upgrade === 1),
    wasm_on_body: (_p, at, len) => current.onBody(chunk.subarray(at - chunkAt, at - chunkAt + len)),
    wasm_on_message_complete: () => current.onComplete(),
  },
}).exports;
L._initialize();
let bufPtr = 0;
let bufSize = 0;

const upstream = new Pool(`http://127.0.0.1:${process.argv[2]}`, {
  connections: 128,
  pipelining: 1,
  keepAliveTimeout: 4_000,
  keepAliveMaxTimeout: 4_000,
});

/** Hop-by-hop fields a proxy does not pass on (lengths first: most names are neither). */
function hopByHop(name) {
  const n = name.length;
  if (n !== 10 && n !== 17) return false;
  const low = name.toLowerCase();
  return low === 'connection' || low === 'keep-alive' || low === 'transfer-encoding';
}

function uncork(conn) {
  conn.corked = false;
  conn.socket.uncork();
}

/** One request's answer: written at once when it is the oldest one open, else held until its turn. */
class Exchange {
  constructor(conn, keepAlive, head) {
    this.conn = conn;
    this.keepAlive = keepAlive;
    this.isHead = head;
    this.held = conn.queue.length ? [] : null;
    this.chunked = false;
    this.wrote = false;
    this.done = false;
  }
  onConnect(abort) {
    this.abort = abort;
    if (this.conn.socket.destroyed) abort();
  }
  write(data) {
    if (this.held) return void this.held.push(data);
    const conn = this.conn;
    if (!conn.corked) {
      conn.corked = true;
      conn.socket.cork();
      process.nextTick(uncork, conn);
    }
    conn.socket.write(data);
  }
  onHeaders(status, raw, resume) {
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    let length = false;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toString('latin1');
      if (hopByHop(name)) continue;
      if (name.length === 14 && name.toLowerCase() === 'content-length') length = true;
      head += `${name}: ${raw[i + 1].toString('latin1')}\r\n`;
    }
    const bodyless = this.isHead || status === 204 || status === 304 || status < 200;
    this.chunked = !length && !bodyless;
    if (this.chunked) head += 'Transfer-Encoding: chunked\r\n';
    if (!this.keepAlive) head += 'Connection: close\r\n';
    this.wrote = true;
    this.write(`${head}\r\n`);
    this.resume = resume;
    return true;
  }
  onData(data) {
    if (this.chunked) this.write(`${data.length.toString(16)}\r\n`);
    this.write(data);
    if (this.chunked) this.write('\r\n');
    if (!this.conn.socket.writableNeedDrain) return true;
    this.conn.socket.once('drain', this.resume);
    return false;
  }
  onComplete() {
    if (this.chunked) this.write('0\r\n\r\n');
    this.finish();
  }
  onError() {
    if (this.wrote) return void this.conn.socket.destroy();
    this.write('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n');
    this.finish();
  }
  finish() {
    this.done = true;
    this.conn.finished(this);
  }
}

/** One client connection: its parser, the request being read, and its answers in order. */
class Conn {
  constructor(socket) {
    this.socket = socket;
    this.ptr = L.llhttp_alloc(C.TYPE.REQUEST);
    this.queue = [];
    this.corked = false;
    this.onBegin();
  }
  onBegin() {
    this.url = '';
    this.raw = [];
    this.inValue = true;
    this.body = null;
    return 0;
  }
  onUrl(s) {
    this.url += s;
    return 0;
  }
  onField(s) {
    // A field name split across two reads arrives in two calls.
    if (this.inValue) this.raw.push(s, '');
    else this.raw[this.raw.length - 2] += s;
    this.inValue = false;
    return 0;
  }
  onValue(s) {
    this.raw[this.raw.length - 1] += s;
    this.inValue = true;
    return 0;
  }
  onHeadersComplete(upgrade) {
    if (upgrade) return -1; // out of this front's scope: a parse error, so 400
    const method = METHOD_NAMES[L.llhttp_get_method(this.ptr)];
    let framed = false;
    const headers = [];
    for (let i = 0; i < this.raw.length; i += 2) {
      const name = this.raw[i];
      if (name.length === 14 && name.toLowerCase() === 'content-length') framed = true;
      if (name.length === 6 && name.toLowerCase() === 'expect') {
        // As Node's server does by default: say "go on" at once (undici refuses to forward the field).
        if (this.raw[i + 1].toLowerCase() === '100-continue') this.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
        continue;
      }
      if (hopByHop(name)) {
        if (name.length === 17) framed = true; // transfer-encoding
        continue;
      }
      headers.push(name, this.raw[i + 1]);
    }
    if (framed) this.body = new Readable({ read: () => this.socket.resume() });
    const ex = new Exchange(this, L.llhttp_should_keep_alive(this.ptr) === 1, method === 'HEAD');
    this.queue.push(ex);
    upstream.dispatch({ path: this.url, method, headers, body: this.body }, ex);
    return 0;
  }
  onBody(bytes) {
    if (!this.body.push(Buffer.from(bytes))) this.socket.pause();
    return 0;
  }
  onComplete() {
    if (this.body) this.body.push(null);
    return 0;
  }
  finished(ex) {
    if (this.queue[0] !== ex) return;
    this.queue.shift();
    if (!ex.keepAlive) this.socket.end();
    for (let next = this.queue[0]; next?.held; next = this.queue[0]) {
      const held = next.held;
      next.held = null;
      for (const data of held) next.write(data);
      if (!next.done) break;
      this.queue.shift();
    }
  }
  feed(data) {
    if (data.length > bufSize) {
      if (bufPtr) L.free(bufPtr);
      bufSize = Math.ceil(data.length / 4096) * 4096;
      bufPtr = L.malloc(bufSize);
    }
    new Uint8Array(L.memory.buffer, bufPtr, data.length).set(data);
    [current, chunk, chunkAt] = [this, data, bufPtr];
    const ret = L.llhttp_execute(this.ptr, bufPtr, data.length);
    [current, chunk] = [null, null];
    if (ret !== C.ERROR.OK)
      this.socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  }
  /** The client left: answers it will never read are aborted upstream (see bare-proxy.mjs on the pool). */
  closed() {
    for (const ex of this.queue) if (!ex.done) ex.abort?.();
    this.queue = [];
    if (this.ptr) L.llhttp_free(this.ptr);
    this.ptr = 0;
  }
}

const server = net.createServer({ noDelay: true }, (socket) => {
  const conn = new Conn(socket);
  socket.setTimeout(65_000, () => socket.destroy());
  socket.on('data', (d) => conn.feed(d));
  socket.on('error', () => {});
  socket.on('close', () => conn.closed());
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
