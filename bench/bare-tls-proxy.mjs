// The Node ceiling for an HTTPS proxy, HTTP/1.1 and HTTP/2 on one port as veer serves them: one TLS
// listener hands each connection by ALPN to node:http (HTTP/1.1) or to a node:http2 server read through
// its streams, and each request goes to one upstream through undici's raw dispatch. No routing, split,
// metrics, header policy or retries: veer is measured against it in bench/tls.bench.mjs.
// Prints {"port": N}. Usage: node bare-tls-proxy.mjs <upstreamPort> <cert.pem> <key.pem>
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import tls from 'node:tls';
import { Pool } from 'undici';

const [upstreamPort, certFile, keyFile] = process.argv.slice(2);
const upstream = new Pool(`http://127.0.0.1:${upstreamPort}`, {
  connections: 128,
  pipelining: 1,
  keepAliveTimeout: 4_000,
  keepAliveMaxTimeout: 4_000,
});
// Connection-specific fields HTTP/2 refuses (RFC 9113 §8.2.2); HTTP/1.1 drops only Connection here.
const H2_DROPPED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** An upstream answer to one client response, node:http's or an HTTP/2 stream's. */
class Handler {
  constructor(out) {
    this.out = out;
  }
  onConnect(abort) {
    this.abort = abort;
    if (this.out.destroyed) abort();
  }
  onHeaders(status, raw, resume) {
    this.out.head(status, raw);
    this.out.target.on('drain', resume);
    return true;
  }
  onData(chunk) {
    return this.out.target.write(chunk);
  }
  onComplete() {
    this.out.target.end();
  }
  onError() {
    this.out.fail();
  }
}

function http1Out(res) {
  return {
    target: res,
    get destroyed() {
      return res.destroyed;
    },
    head(status, raw) {
      const headers = [];
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i].toString('latin1');
        if (name.length === 10 && name.toLowerCase() === 'connection') continue;
        headers.push(name, raw[i + 1].toString('latin1'));
      }
      res.writeHead(status, headers);
    },
    fail: () => (res.headersSent ? res.destroy() : res.writeHead(502).end()),
  };
}

function http2Out(stream) {
  return {
    target: stream,
    get destroyed() {
      return stream.destroyed;
    },
    head(status, raw) {
      const headers = { ':status': status };
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i].toString('latin1').toLowerCase();
        if (!H2_DROPPED.has(name)) headers[name] = raw[i + 1].toString('latin1');
      }
      stream.respond(headers);
    },
    fail: () => (stream.headersSent ? stream.destroy() : stream.respond({ ':status': 502 }, { endStream: true })),
  };
}

// As bench/bare-proxy.mjs: a client that leaves before its answer is whole has the upstream request
// aborted, or the pool's connections leak.
const h1 = http.createServer((req, res) => {
  const handler = new Handler(http1Out(res));
  res.on('close', () => res.writableFinished || handler.abort?.());
  const body = req.method === 'GET' ? null : req;
  upstream.dispatch({ path: req.url, method: req.method, headers: req.rawHeaders, body }, handler);
});
h1.keepAliveTimeout = 65_000;

const h2 = http2.createServer();
h2.on('stream', (stream, headers) => {
  stream.on('error', () => {});
  const handler = new Handler(http2Out(stream));
  stream.on('close', () => stream.writableFinished || handler.abort?.());
  const fields = {};
  for (const k in headers) if (k.charCodeAt(0) !== 58) fields[k] = headers[k];
  fields.host = headers[':authority'];
  const body = stream.endAfterHeaders ? null : stream;
  upstream.dispatch({ path: headers[':path'], method: headers[':method'], headers: fields, body }, handler);
});

const server = tls.createServer({
  cert: readFileSync(certFile),
  key: readFileSync(keyFile),
  ALPNProtocols: ['h2', 'http/1.1'],
});
server.on('secureConnection', (socket) => (socket.alpnProtocol === 'h2' ? h2 : h1).emit('connection', socket));
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
