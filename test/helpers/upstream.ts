// Real upstream HTTP servers on 127.0.0.1:0 whose behaviour a test can change while traffic flows.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface UpstreamBehaviour {
  /** Fixed status, or a function of the request count. */
  status: number | ((n: number) => number);
  /** Delay before the response headers, ms. */
  delayMs: number;
  /** Body text; defaults to the server's name. */
  body?: string;
  /** Custom handler that replaces the default behaviour. */
  handler?: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface TestUpstream {
  readonly name: string;
  readonly port: number;
  readonly address: string;
  readonly hits: number;
  readonly requests: Array<{
    method: string;
    url: string;
    headers: IncomingMessage['headers'];
    rawHeaders: string[];
    body: string;
  }>;
  behave(b: Partial<UpstreamBehaviour>): void;
  close(): Promise<void>;
}

export async function startUpstream(name: string, initial: Partial<UpstreamBehaviour> = {}): Promise<TestUpstream> {
  let behaviour: UpstreamBehaviour = { status: 200, delayMs: 0, ...initial };
  const requests: TestUpstream['requests'] = [];
  const sockets = new Set<Socket>();
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    const n = hits;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks).toString(),
      });
      if (requests.length > 5000) requests.shift();
      if (behaviour.handler) return behaviour.handler(req, res);
      const status = typeof behaviour.status === 'function' ? behaviour.status(n) : behaviour.status;
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'text/plain', 'x-upstream': name });
        res.end(behaviour.body ?? name);
      };
      if (behaviour.delayMs > 0) setTimeout(send, behaviour.delayMs);
      else send();
    });
  });
  server.keepAliveTimeout = 10_000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    port,
    address: `127.0.0.1:${port}`,
    get hits() {
      return hits;
    },
    requests,
    behave(b) {
      behaviour = { ...behaviour, ...b };
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
