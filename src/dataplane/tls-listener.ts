// The HTTPS port. One TLS listener picks the certificate by SNI (CertificateBook) and, after the
// handshake, hands the connection on by its ALPN protocol: HTTP/1.1 to the plain listener's own
// HTTP machinery (so framing checks, pipelining order, timeouts and WebSocket upgrades are the same
// code as over plain HTTP), h2 to an HTTP/2 session whose requests enter the same ingress.
import { constants, createServer as createH2, type Http2Server, type ServerHttp2Session } from 'node:http2';
import type { Http2ServerRequest, Http2ServerResponse, ServerHttp2Stream } from 'node:http2';
import { createServer as createNet, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTls, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { settledWithin } from '../domain/async.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../domain/log.js';
import { AlpnChallenges } from './alpn-challenge.js';
import type { CertificateBook } from './certificate-book.js';
import { ResetGuard } from './reset-guard.js';
import { listenOn } from './listen-on.js';

export interface TlsListenerOptions {
  http2: boolean;
  maxConcurrentStreams: number;
  maxHeaderListSize: number;
  streamResetBurst: number;
  streamResetRate: number;
  /** Request header fields veer accepts; HTTP/2 keeps a few more so admission can refuse "too many" itself. */
  maxHeaders: number;
  /** Idle connections (either protocol) are closed after this. */
  keepAliveTimeout: number;
  /** The TLS handshake must finish within this (slowloris bound, like the request headers'). */
  handshakeTimeout: number;
}

export interface TlsEdge {
  /** An HTTP/1.1 connection, handshake done. */
  http1(socket: TLSSocket): void;
  /** One HTTP/2 request. */
  request(req: Http2ServerRequest, res: Http2ServerResponse): void;
}

export class TlsListener {
  /** Accepts the connections: each goes to the TLS server, or to an ACME tls-alpn-01 answer. */
  private readonly front: NetServer;
  private readonly server: TlsServer;
  /** ACME tls-alpn-01 challenges (the ACME side sets their lookup). */
  readonly alpnChallenges: AlpnChallenges;
  private readonly h2: Http2Server;
  private readonly sessions = new Set<ServerHttp2Session>();
  private sessionsGone: (() => void) | null = null;
  /** The TLS socket being handed to the HTTP/2 server (its 'session' event fires within the hand-over). */
  private handing: TLSSocket | null = null;

  constructor(
    private readonly book: CertificateBook,
    private readonly opts: TlsListenerOptions,
    edge: TlsEdge,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.h2 = createH2({
      settings: { maxConcurrentStreams: opts.maxConcurrentStreams, maxHeaderListSize: opts.maxHeaderListSize },
      // Pseudo-headers count as pairs too; admission refuses more than maxHeaders regular fields (431).
      maxHeaderListPairs: opts.maxHeaders + 8,
    });
    this.h2.on('request', edge.request);
    this.h2.on('session', this.onSession);
    this.server = createTls(
      {
        minVersion: 'TLSv1.2',
        ALPNProtocols: opts.http2 ? ['h2', 'http/1.1'] : ['http/1.1'],
        SNICallback: (name, cb) => {
          const context = this.book.lookup(name);
          if (context === undefined) cb(new Error(`no certificate for "${name}"`));
          else cb(null, context);
        },
        handshakeTimeout: opts.handshakeTimeout,
      },
      (socket) => {
        if (socket.alpnProtocol !== 'h2') return edge.http1(socket);
        this.handing = socket;
        this.h2.emit('connection', socket);
        this.handing = null;
      },
    );
    this.alpnChallenges = new AlpnChallenges(opts.handshakeTimeout);
    const toTls = (socket: Socket): void => void this.server.emit('connection', socket);
    this.front = createNet((socket) => this.alpnChallenges.route(socket, toTls, opts.handshakeTimeout));
    // A failed handshake (unknown name, TLS 1.0, garbage) concerns that client only.
    this.server.on('tlsClientError', (_err, socket) => socket.destroy());
    this.applyDefault();
    book.onDefaultChange(() => this.applyDefault());
  }

  /** Clients that send no name get the default certificate, or none (their handshake fails). */
  private applyDefault(): void {
    const d = this.book.defaultEntry;
    this.server.setSecureContext(
      d === null ? { minVersion: 'TLSv1.2' } : { cert: d.cert, key: d.key, minVersion: 'TLSv1.2' },
    );
  }

  private readonly onSession = (session: ServerHttp2Session): void => {
    this.sessions.add(session);
    const socket = this.handing;
    session.once('close', () => {
      // The TLS socket goes with its session, whoever ended it (a flood's destroy, the idle timeout).
      socket?.destroy();
      this.sessions.delete(session);
      if (this.sessions.size === 0) this.sessionsGone?.();
    });
    session.on('error', () => session.destroy());
    session.setTimeout(this.opts.keepAliveTimeout, () => session.close());
    const guard = new ResetGuard(this.opts.streamResetBurst, this.opts.streamResetRate, this.clock.now());
    let closing = false;
    session.on('stream', (stream: ServerHttp2Stream) =>
      stream.once('close', () => {
        if (closing || stream.rstCode === constants.NGHTTP2_NO_ERROR || session.destroyed) return;
        if (guard.allow(this.clock.now())) return;
        closing = true;
        this.log.log('warn', 'HTTP/2 client reset streams too fast: connection closed', {
          peer: session.socket?.remoteAddress,
        });
        // Not from inside nghttp2's stream-close callback: a GOAWAY or destroy there is not acted on.
        setImmediate(() => {
          session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
          session.destroy();
        });
      }),
    );
  };

  listen(host: string, port: number): Promise<AddressInfo> {
    return listenOn(this.front, host, port);
  }

  /** HTTP/2 connections open now (their requests are in the data plane's in-flight work). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Stops accepting, lets HTTP/2 sessions finish their streams (GOAWAY) within `graceMs`, then ends them. */
  async close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((r) => this.front.close(() => r()));
    for (const s of this.sessions) s.close();
    if (this.sessions.size > 0) await settledWithin(new Promise<void>((r) => (this.sessionsGone = r)), graceMs);
    for (const s of this.sessions) s.destroy();
    // HTTP/1.1 sockets belong to the plain listener's HTTP server, which closes them.
    await closed;
  }
}
