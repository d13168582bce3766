// Test upstream for veer: a dependency-free HTTP server whose behaviour is set by env vars, so one
// image can play a good or a bad release. Runs under the bare host `node` in a FROM scratch image.
//   PORT        listen port (default 8080)
//   VERSION     echoed in `x-app-version` and the JSON body (default "1")
//   ERROR_RATE  0–1, share of requests answered 500 (/healthz excluded)
//   LATENCY_MS  delay added before every answer (/healthz excluded)
//   HEALTHY     "1" (default) or "0": /healthz answers 200 or 503
// Exits 0 on SIGTERM/SIGINT after the server has closed.
import http from 'node:http';
import os from 'node:os';

const port = Number(process.env.PORT || 8080);
const version = process.env.VERSION || '1';
const errorRate = clamp01(Number(process.env.ERROR_RATE || 0));
const latencyMs = Math.max(0, Number(process.env.LATENCY_MS || 0) || 0);
const healthy = (process.env.HEALTHY || '1') !== '0';
let served = 0;

function clamp01(x) {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-app-version': version,
  });
  res.end(text);
}

function handle(req, res) {
  const path = (req.url || '/').split('?')[0];
  if (path === '/healthz') {
    send(res, healthy ? 200 : 503, { healthy, version });
    return;
  }
  // Drain the request body so keep-alive connections stay reusable.
  req.resume();
  req.on('end', () => {
    const answer = () => {
      served += 1;
      const failed = errorRate > 0 && Math.random() < errorRate;
      send(res, failed ? 500 : 200, {
        version,
        ok: !failed,
        method: req.method,
        path: req.url,
        host: os.hostname(),
        served,
        headers: req.headers,
      });
    };
    if (latencyMs > 0) setTimeout(answer, latencyMs);
    else answer();
  });
}

const server = http.createServer(handle);
// Longer than veer's upstream idle timeout (4 s) so veer, not the app, closes idle sockets.
server.keepAliveTimeout = 10_000;
server.listen(port, '0.0.0.0', () => {
  process.stdout.write(`app version=${version} listening on ${port}\n`);
});

let closing = false;
function shutdown(signal) {
  if (closing) return;
  closing = true;
  process.stdout.write(`app got ${signal}, closing\n`);
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  // In-flight requests get a bounded grace period, then we go anyway.
  setTimeout(() => process.exit(0), 5_000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
