// Bench upstream: dependency-free, answers every request 200 with a ~100-byte body. Prints
// {"port": N} once listening. Usage: node upstream.mjs <name> [length|chunked] (chunked: the same body with no
// length, in chunked coding).
import http from 'node:http';

const name = process.argv[2] ?? 'A';
const chunked = process.argv[3] === 'chunked';
const body = Buffer.from(JSON.stringify({ upstream: name, ok: true, pad: 'x'.repeat(64) }).padEnd(100, ' '));

const server = http.createServer((req, res) => {
  // Drain any request body so keep-alive sockets stay reusable.
  req.resume();
  if (chunked) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(body);
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
// Longer than the proxies' idle upstream timeouts (veer 4 s, nginx set to 5 s), so the proxy side
// closes idle sockets first and never reuses one the server is closing.
server.keepAliveTimeout = 10_000;
server.headersTimeout = 15_000;

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port, name })}\n`);
});

// The parent holds our stdin; when it goes away (even SIGKILLed), so do we.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
