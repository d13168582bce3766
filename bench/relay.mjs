// The floor of any Node proxy on this host: a TCP relay with no HTTP in it. Each client connection gets a
// connection of its own to the upstream and the bytes are copied both ways as they come (the upstream's into
// one read buffer, net's onread), with nothing parsed, routed, measured or logged. It makes the same system
// calls per request as an HTTP proxy (a read and a write on each side) and little else: what a proxy spends
// above it is its own work. Measured side by side only. Prints {"port": N}. Usage: node relay.mjs <upstreamPort>
import net from 'node:net';

const upstreamPort = Number(process.argv[2]);
const READ_BUFFER = Buffer.allocUnsafe(65_536);

const server = net.createServer({ noDelay: true }, (client) => {
  const upstream = net.connect({
    host: '127.0.0.1',
    port: upstreamPort,
    noDelay: true,
    // The read buffer is reused by the next read: the client's write takes a copy.
    onread: { buffer: READ_BUFFER, callback: (n) => void client.write(Buffer.from(READ_BUFFER.subarray(0, n))) },
  });
  client.on('data', (d) => upstream.write(d));
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
  client.on('error', () => undefined);
  upstream.on('error', () => undefined);
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
