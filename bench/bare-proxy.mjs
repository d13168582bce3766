// The Node ceiling for an HTTP/1.1 proxy: undici's raw dispatch API to one upstream, nothing else (no
// routing, split, metrics, header policy or retries). veer is measured against it; its gap to this is what
// veer's own features cost. Prints {"port": N}. Usage: node bare-proxy.mjs <upstreamPort>
import http from 'node:http';
import { Pool } from 'undici';

const upstream = new Pool(`http://127.0.0.1:${process.argv[2]}`, {
  connections: 128,
  pipelining: 1,
  keepAliveTimeout: 4_000,
  keepAliveMaxTimeout: 4_000,
});

class Handler {
  constructor(res) {
    this.res = res;
  }
  onConnect(abort) {
    this.abort = abort;
    if (this.res.destroyed) abort();
  }
  onHeaders(status, rawHeaders, resume) {
    const headers = [];
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i].toString('latin1');
      if (name.length === 10 && name.toLowerCase() === 'connection') continue;
      headers.push(name, rawHeaders[i + 1].toString('latin1'));
    }
    this.res.writeHead(status, headers);
    this.res.on('drain', resume);
    return true;
  }
  onData(chunk) {
    return this.res.write(chunk);
  }
  onComplete() {
    this.res.end();
  }
  onError(err) {
    if (this.res.headersSent) this.res.destroy();
    else this.res.writeHead(502).end(String(err.code ?? err.message));
  }
}

// A client that leaves before its answer is whole has the upstream request aborted: without it, undici would
// keep writing into the closed response, which asks it to pause, and nothing would ever resume it; each such
// request holds one of the pool's connections for good, and once the pool is full every request waits (seen:
// 0 req/s after five 8 s rounds, each ended by wrk closing 64 connections mid-request). veer does the same
// (exchange.ts); a ceiling that leaks its pool is none.
const server = http.createServer((req, res) => {
  const handler = new Handler(res);
  res.on('close', () => {
    if (!res.writableFinished) handler.abort?.();
  });
  upstream.dispatch(
    { path: req.url, method: req.method, headers: req.rawHeaders, body: req.method === 'GET' ? null : req },
    handler,
  );
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
