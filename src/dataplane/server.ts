// The data-plane listener and its lifecycle. Graceful shutdown: stop accepting, answer the
// requests already in flight (telling keep-alive clients to go), then close what is left once the
// bound passes.
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface ServerOptions {
  keepAliveTimeout: number;
  headersTimeout: number;
  requestTimeout: number;
  maxHeaderSize: number;
}

export interface Handlers {
  request(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Ends upgraded (WebSocket) connections at the end of a drain. */
  closeUpgraded(): void;
}

export class ProxyServer {
  private readonly server: Server;
  private inflight = 0;
  private closing = false;
  private drained: (() => void) | null = null;

  constructor(opts: ServerOptions, private readonly handlers: Handlers) {
    this.server = createServer(
      {
        keepAliveTimeout: opts.keepAliveTimeout,
        headersTimeout: opts.headersTimeout,
        requestTimeout: opts.requestTimeout,
        maxHeaderSize: opts.maxHeaderSize,
        // Node enforces headersTimeout/requestTimeout only when this timer runs (30 s by default),
        // which would let a slow client outlive a short clientHeader bound by up to 30 s.
        connectionsCheckingInterval: checkingInterval(opts),
        noDelay: true,
      },
      this.onRequest,
    );
    this.server.on('upgrade', handlers.upgrade);
    this.server.on('clientError', onClientError);
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    this.inflight++;
    res.once('close', this.onResponseClose);
    // The upstream's own Date header is passed through; Node must not add a second one.
    res.sendDate = false;
    if (this.closing) res.shouldKeepAlive = false;
    this.handlers.request(req, res);
  };

  private readonly onResponseClose = (): void => {
    this.inflight--;
    if (this.inflight === 0 && this.drained !== null) this.drained();
  };

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  get inFlight(): number {
    return this.inflight;
  }

  /** Resolves when in-flight requests finished or `graceMs` passed; then every socket is closed. */
  async close(graceMs: number): Promise<{ drained: boolean; abandoned: number }> {
    this.closing = true;
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeIdleConnections();
    let drained = this.inflight === 0;
    if (!drained) {
      drained = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), graceMs);
        this.drained = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
    }
    const abandoned = this.inflight;
    this.handlers.closeUpgraded();
    this.server.closeAllConnections();
    await closed;
    return { drained, abandoned };
  }
}

function checkingInterval(opts: ServerOptions): number {
  const bound = opts.requestTimeout > 0 ? Math.min(opts.headersTimeout, opts.requestTimeout) : opts.headersTimeout;
  return Math.min(30_000, Math.max(50, Math.floor(bound / 4)));
}

function onClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const code = status === 431 ? 'headers_too_large' : status === 408 ? 'request_timeout' : 'bad_request';
  const body = JSON.stringify({ error: { code, message: STATUS_CODES[status] } });
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
