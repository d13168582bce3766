// WebSocket (and other HTTP Upgrade) proxying through http-proxy, which earns its place here.
// Its known sharp edges are handled: an unhandled ECONNRESET on either socket would crash the
// process, so both sockets get error handlers, and every proxied socket is tracked so shutdown
// can end it.
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import type { Clock, Random } from '../domain/clock.js';
import { pickTarget } from './balancer.js';
import { peerAddress, viaHasLoop } from './headers.js';
import { choosePoolFor } from './pool-choice.js';
import type { RoutingTable } from './table.js';

export interface WebSocketOptions {
  clock: Clock;
  random: Random;
  overrideHeader: string | null;
  viaPseudonym: string;
  isTrusted: (ip: string) => boolean;
}

function reject(socket: Duplex, status: number, reason: string): void {
  const body = JSON.stringify({ error: { code: reason, message: reason.replace(/_/g, ' ') } });
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

export class WebSocketProxy {
  private readonly proxy = httpProxy.createProxyServer({ ws: true, xfwd: false, proxyTimeout: 0 });
  private readonly sockets = new Set<Duplex>();

  constructor(
    private readonly opts: WebSocketOptions,
    private readonly table: () => RoutingTable,
  ) {
    this.proxy.on('error', (_err, _req, target) => {
      const s = target as Duplex | undefined;
      if (s && typeof s.destroy === 'function') s.destroy();
    });
    this.proxy.on('open', (upstream: Duplex) => {
      upstream.on('error', () => upstream.destroy());
    });
    // http-proxy relays a refused upgrade (a non-101 answer) as the parsed headers plus the decoded
    // body, so a chunked answer would reach the client without its chunk framing. Runs before
    // http-proxy's own 'response' listener and turns it into a close-delimited answer.
    this.proxy.on('proxyReqWs', (proxyReq: ClientRequest) => {
      proxyReq.once('response', (res: IncomingMessage) => {
        if (res.statusCode === 101) return;
        delete res.headers['transfer-encoding'];
        delete res.headers['keep-alive'];
        res.headers.connection = 'close';
      });
    });
  }

  readonly handle = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const route = this.table().router.lookup(req.headers.host, req.url ?? '/');
    if (route === undefined) return reject(socket, 404, 'no_route');
    if (viaHasLoop(req.headers.via, this.opts.viaPseudonym)) return reject(socket, 508, 'loop_detected');
    const { pool } = choosePoolFor(route, req.headers, this.opts.overrideHeader, this.opts.random);
    const target = pickTarget(pool.targets, this.opts.clock.now(), this.opts.random);
    if (target === undefined) return reject(socket, 503, 'no_targets');

    this.setForwardedHeaders(req);
    target.outstanding++;
    this.sockets.add(socket);
    socket.once('close', () => {
      target.outstanding--;
      this.sockets.delete(socket);
    });
    this.proxy.ws(req, socket, head, { target: { host: target.address.host, port: target.address.port } }, () => {
      pool.window.recordFailure(this.opts.clock.now(), 'connect', 0);
      if (socket.writable) reject(socket, 502, 'upstream_unreachable');
      else socket.destroy();
    });
  };

  private setForwardedHeaders(req: IncomingMessage): void {
    const peer = peerAddress(req.socket.remoteAddress);
    const h = req.headers;
    const trusted = this.opts.isTrusted(peer);
    h['x-forwarded-for'] = trusted && h['x-forwarded-for'] ? `${h['x-forwarded-for']}, ${peer}` : peer;
    if (!trusted || !h['x-forwarded-proto']) h['x-forwarded-proto'] = 'http';
    if (!trusted || !h['x-forwarded-host']) {
      if (h.host !== undefined) h['x-forwarded-host'] = h.host;
    }
    if (!trusted) delete h.forwarded;
    const via = `1.1 ${this.opts.viaPseudonym}`;
    h.via = h.via ? `${h.via}, ${via}` : via;
  }

  get openCount(): number {
    return this.sockets.size;
  }

  closeAll(): void {
    for (const s of this.sockets) s.destroy();
    this.proxy.close();
  }
}
