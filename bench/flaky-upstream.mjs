// Bench upstream whose share of 5xx is set by ERROR_RATE (0–1), with a deterministic pattern
// (every k-th request) so runs compare. Prints {"port": N} once listening.
import http from 'node:http';

const rate = Number(process.env.ERROR_RATE ?? 0);
const every = rate > 0 ? Math.round(1 / rate) : 0;
let n = 0;
const server = http.createServer((req, res) => {
  req.resume();
  n++;
  const fail = every > 0 && n % every === 0;
  const body = fail ? 'canary failure' : 'ok';
  res.writeHead(fail ? 503 : 200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 10_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
