// The data-plane listener and its lifecycle. Graceful shutdown: stop accepting, answer the
// requests already in flight (telling keep-alive clients to go), then close what is left once the
// bound passes. Every request Node hands over gets exactly one answer: WebSocket handshakes go to
// the tunnel proxy, other upgrade requests are answered as plain requests (the Upgrade is ignored,
// as RFC 9110 §7.8 allows), CONNECT is refused, and what Node's parser refuses is answered here.
import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { settledWithin } from '../domain/async.js';
import { errorBody, JSON_TYPE } from '../domain/error-body.js';
import type { FrontRequest, FrontResponse } from './front.js';
import { LeanFront } from './http1/lean-front.js';
import { ResponseLedger } from './ledger.js';
import { listenOn, trackConnections } from './listen-on.js';
import { sniffPreface } from './preface-sniff.js';
import { answerRaw } from './responses.js';
import { clientErrorRefusal, headOfPacket, REFUSAL_STATUS, refusedRequest, seenOf } from './access-refusal.js';
import type { ParserRefusal, RefusedRequest, SeenHead } from './access-refusal.js';
export type { ParserRefusal } from './access-refusal.js';

export interface ServerOptions {
  keepAliveTimeout: number;
  headersTimeout: number;
  requestTimeout: number;
  maxHeaderSize: number;
  /** Header fields a request may carry (admission refuses more; see the constructor for why Node does not). */
  maxHeaders: number;
  /** Who reads plain HTTP/1.1 requests: node:http, or veer's own front (http1/lean-front.ts). Default node. */
  front?: 'node' | 'lean';
}

export interface Handlers {
  request(req: FrontRequest, res: FrontResponse): void;
  /** A request refused before veer routed it (Node's parser, CONNECT, an Expect), answered here; `seen`: its line. */
  refused(code: ParserRefusal, seen: RefusedRequest | null): void;
  /** A WebSocket handshake (GET with `Upgrade: websocket`). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Ends upgraded (WebSocket) connections at the end of a drain. */
  closeUpgraded(): void;
  /** A plain connection that opened with the HTTP/2 preface (h2c prior knowledge). */
  h2c(socket: Socket): void;
}

/** Node's own HTTP/1.1 connection handling, which the preface check stands in front of. */
const HTTP1 = Symbol('http1');
type SniffedServer = Server & { [HTTP1]: (socket: Socket) => void };

export class ProxyServer {
  private server: SniffedServer;
  /** Listeners replaced by a rebind: they accept nothing more; their connections live on. */
  private readonly retired = new Set<Server>();
  private readonly ledger = new ResponseLedger();
  /** veer's own front, when `front` is lean; what it does not read itself it hands to `server`. */
  private readonly lean: LeanFront | null;
  private closing = false;
  private drained: (() => void) | null = null;

  constructor(
    private readonly opts: ServerOptions,
    private readonly handlers: Handlers,
  ) {
    this.server = this.create();
    this.lean =
      opts.front === 'lean'
        ? new LeanFront(
            opts,
            {
              start: this.startRequest,
              refer: (socket) => this.onSniffed(this.server)(socket, false),
              refused: (code, s) => handlers.refused(code, s === null ? null : refusedRequest(code, s.remoteAddress)),
              closing: () => this.closing,
            },
            checkingInterval(opts),
          )
        : null;
    const idle = (): void => void (this.inFlight === 0 && this.drained?.());
    this.ledger.onIdle = idle;
    this.ledger.onBroken = (socket) => this.refuse(socket, 'bad_request');
    if (this.lean !== null) this.lean.onIdle = idle;
  }

  private create(): SniffedServer {
    const opts = this.opts;
    const server = createServer(
      {
        keepAliveTimeout: opts.keepAliveTimeout,
        headersTimeout: opts.headersTimeout,
        requestTimeout: opts.requestTimeout,
        maxHeaderSize: opts.maxHeaderSize,
        // Admission refuses an HTTP/1.1 request without Host itself (400 bad_host, through the ledger):
        // Node's own refusal would go out behind veer's back and could be followed by a second answer.
        requireHostHeader: false,
        // Node enforces headersTimeout/requestTimeout only when this timer runs (30 s by default),
        // which would let a slow client outlive a short clientHeader bound by up to 30 s.
        connectionsCheckingInterval: checkingInterval(opts),
        noDelay: true,
      },
      this.onRequest,
    );
    // No count limit in Node's parser: admission counts the fields and refuses too many (431 too_many_headers).
    // A limit here is unsafe either way: Node 20 drops fields beyond it without a word (a request forwarded with
    // fields missing), Node 26 refuses with the same parser error as oversized headers. Memory stays bounded
    // by maxHeaderSize, which caps the bytes of all fields together.
    server.maxHeadersCount = 0;
    // Every connection's first bytes pick HTTP/1.1 (Node's handling) or HTTP/2 (h2c); see preface-sniff.ts.
    const [http1, ...more] = server.listeners('connection') as Array<(socket: Socket) => void>;
    if (http1 === undefined || more.length > 0) throw new Error('unexpected connection listeners on the HTTP server');
    server.removeAllListeners('connection');
    const sniffed = Object.assign(server, { [HTTP1]: (socket: Socket) => http1.call(server, socket) });
    server.on('connection', (socket: Socket) =>
      sniffPreface(socket, opts.headersTimeout, this.onSniffed(sniffed, this.lean)),
    );
    server.on('upgrade', this.onUpgrade);
    server.on('connect', (req: IncomingMessage, socket: Duplex) =>
      this.refuse(socket, 'method_not_allowed', seenOf(req)),
    );
    server.on('clientError', this.onClientError);
    // An Expect other than 100-continue: Node would answer 417 behind veer's back (and a broken body
    // after it would then earn a second answer); answered here, in its turn, through the ledger.
    server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) =>
      this.ledger.add(req.socket, req, res, this.refuseExpectation),
    );
    return sniffed;
  }

  private onSniffed(server: SniffedServer, lean: LeanFront | null = null): (socket: Socket, h2: boolean) => void {
    return (socket, h2) => {
      if (h2) return this.handlers.h2c(socket);
      if (lean !== null) return lean.accept(socket);
      server[HTTP1](socket);
      // The first bytes were put back while the socket was paused: Node's parser reads them now.
      socket.resume();
    };
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    // The upstream's own Date header is passed through; Node must not add a second one.
    res.sendDate = false;
    this.ledger.add(req.socket, req, res, this.startRequest);
  };

  private readonly startRequest = (req: FrontRequest, res: FrontResponse): void => {
    if (this.closing) res.shouldKeepAlive = false;
    this.handlers.request(req, res);
  };

  private readonly refuseExpectation = (req: IncomingMessage, res: ServerResponse): void => {
    const code = 'expectation_failed';
    this.handlers.refused(code, refusedRequest(code, req.socket.remoteAddress, seenOf(req)));
    const body = errorBody('expectation_failed', 'only "Expect: 100-continue" is supported');
    res.writeHead(417, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) }).end(body);
  };

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    // An Upgrade in an HTTP/1.0 request is ignored (RFC 9110 §7.8): served as a plain request below.
    if (req.method === 'GET' && req.httpVersion === '1.1' && /^websocket$/i.test(req.headers.upgrade ?? ''))
      return this.handlers.upgrade(req, socket, head);
    // Another protocol (h2c, say) or method: answered as the plain request it also is. Node stopped
    // parsing at the headers, so a body cannot be read, and the connection ends after the answer.
    if (req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0')
      return this.refuse(socket, 'bad_request', seenOf(req));
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.once('finish', () => {
      res.detachSocket(socket as Socket);
      socket.end();
    });
    this.onRequest(req, res);
  };

  private readonly onClientError = (err: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    // The parser choked after handing over a request still being answered (bytes after
    // `Connection: close`, a broken next request): finish that answer, then close. A second answer
    // would be read as the next request's.
    if (this.ledger.finishThenClose(socket)) return;
    // A request's own body broke off mid-answer: nothing more can be said on this connection.
    if (this.ledger.answering(socket)) return void socket.destroy();
    // A request handed over (its body broke before any answer) has an access line of its own.
    const seen = this.ledger.owes(socket) ? null : headOfPacket(err.rawPacket);
    this.refuse(socket, clientErrorRefusal(err.code), seen);
  };

  /** `seen`: what its access line says of the request (null: it has a line of its own). */
  private refuse(socket: Duplex, code: Exclude<ParserRefusal, 'expectation_failed'>, seen: SeenHead | null = {}): void {
    const remote = (socket as Socket).remoteAddress;
    this.handlers.refused(code, seen === null ? null : refusedRequest(code, remote, seen));
    answerRaw(socket, REFUSAL_STATUS[code], code);
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return this.server.listening ? this.rebind(host, port) : listenOn(this.server, host, port);
  }

  /** A connection the primary of `workers: N` accepted (a worker's server listens on nothing itself). */
  adopt(socket: Socket): void {
    trackConnections(this.server);
    this.server.emit('connection', socket);
  }

  /** An HTTP/1.1 connection accepted elsewhere (the TLS listener, after its handshake): served like ours. */
  accept(socket: Socket): void {
    trackConnections(this.server); // a worker's TLS port may be its only one
    if (this.lean !== null) return this.lean.accept(socket);
    this.server[HTTP1](socket);
  }

  /** Moves to a new address: the new listener accepts before the old one stops; close() ends the old connections. */
  async rebind(host: string, port: number): Promise<AddressInfo> {
    const next = this.create();
    const address = await listenOn(next, host, port);
    const old = this.server;
    this.server = next;
    this.retired.add(old);
    // net's close, not http's: http's would also close the idle keep-alive connections.
    NetServer.prototype.close.call(old, () => this.retired.delete(old));
    return address;
  }

  get inFlight(): number {
    return this.ledger.size + (this.lean?.inFlight ?? 0);
  }

  /** Resolves when in-flight requests finished or `graceMs` passed; then every socket is closed. */
  async close(graceMs: number): Promise<{ drained: boolean; abandoned: number }> {
    this.closing = true;
    const servers = [this.server, ...this.retired];
    // A retired listener's close only ends its timers (it stopped listening already).
    const closed = Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    for (const s of servers) s.closeIdleConnections();
    this.ledger.closing();
    this.lean?.closeIdle();
    const drained = this.inFlight === 0 || (await settledWithin(new Promise<void>((r) => (this.drained = r)), graceMs));
    const abandoned = this.inFlight;
    this.handlers.closeUpgraded();
    for (const s of servers) s.closeAllConnections();
    this.lean?.closeAll();
    await closed;
    return { drained, abandoned };
  }
}

function checkingInterval(opts: ServerOptions): number {
  const bound = opts.requestTimeout > 0 ? Math.min(opts.headersTimeout, opts.requestTimeout) : opts.headersTimeout;
  return Math.min(30_000, Math.max(50, Math.floor(bound / 4)));
}
