// Baseline proxy: plain http-proxy with a keep-alive agent (without one it reconnects per request,
// which would make the comparison unfair to it). With --as-shipped, http-proxy as its README sets it up,
// `createProxyServer({ target })` and nothing else: no agent, so a new upstream connection per request, which
// is what most deployments of it run. Usage: node http-proxy-server.mjs <upstreamPort> [--as-shipped]
import http from 'node:http';
import httpProxy from 'http-proxy';

const upstreamPort = Number(process.argv[2]);
if (!Number.isInteger(upstreamPort) || upstreamPort <= 0) {
  console.error('usage: http-proxy-server.mjs <upstreamPort>');
  process.exit(2);
}

const target = `http://127.0.0.1:${upstreamPort}`;
const proxy =
  process.argv[3] === '--as-shipped'
    ? httpProxy.createProxyServer({ target })
    : httpProxy.createProxyServer({ target, agent: new http.Agent({ keepAlive: true, maxSockets: 256 }) });
proxy.on('error', (err, _req, res) => {
  // res is a socket for upgrades; this bench sends none, but never crash on it.
  if (res && typeof res.writeHead === 'function' && !res.headersSent) {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`bad gateway: ${err.code ?? err.message}`);
  } else if (res) {
    res.destroy();
  }
});

const server = http.createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
