// The HTTPS port. One TLS listener picks the certificate by SNI (CertificateBook) and, after the
// handshake, hands the connection on by its ALPN protocol: HTTP/1.1 to the plain listener's own
// HTTP machinery (so framing checks, pipelining order, timeouts and WebSocket upgrades are the same
// code as over plain HTTP), h2 to an HTTP/2 session whose requests enter the same ingress.
import { createServer as createNet, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTls, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { SERVER_TLS } from './server-tls.js';
import { AlpnChallenges } from './alpn-challenge.js';
import type { CertificateBook } from './certificate-book.js';
import type { H2Sessions } from './h2-sessions.js';
import { listenOn } from './listen-on.js';
import { sniffFirstBytes } from './preface-sniff.js';
import { answerRaw } from './responses.js';

export interface TlsListenerOptions {
  http2: boolean;
  /** The TLS handshake must finish within this (slowloris bound, like the request headers'). */
  handshakeTimeout: number;
}

export interface TlsEdge {
  /** An HTTP/1.1 connection, handshake done. */
  http1(socket: TLSSocket): void;
}

export class TlsListener {
  /** Accepts the connections: each goes to the TLS server, or to an ACME tls-alpn-01 answer. */
  private readonly front: NetServer;
  private readonly server: TlsServer;
  /** ACME tls-alpn-01 challenges (the ACME side sets their lookup). */
  readonly alpnChallenges: AlpnChallenges;

  constructor(
    private readonly book: CertificateBook,
    opts: TlsListenerOptions,
    edge: TlsEdge,
    /** Where h2 connections go: the HTTP/2 sessions the plain port's h2c connections share. */
    private readonly sessions: H2Sessions,
  ) {
    this.server = createTls(
      {
        ...SERVER_TLS,
        // http/1.0 too: a client offering only it (`curl --http1.0`) would otherwise fail its handshake.
        ALPNProtocols: opts.http2 ? ['h2', 'http/1.1', 'http/1.0'] : ['http/1.1', 'http/1.0'],
        SNICallback: (name, cb) => {
          const context = this.book.lookup(name);
          if (context === undefined) cb(new Error(`no certificate for "${name}"`));
          else cb(null, context);
        },
        handshakeTimeout: opts.handshakeTimeout,
      },
      (socket) => (socket.alpnProtocol === 'h2' ? sessions.accept(socket) : edge.http1(socket)),
    );
    this.alpnChallenges = new AlpnChallenges(opts.handshakeTimeout);
    const toTls = (socket: Socket): void => void this.server.emit('connection', socket);
    const wait = opts.handshakeTimeout;
    this.front = createNet((socket) =>
      sniffFirstBytes(socket, wait, recordKind, (s, kind) =>
        kind === 'http' ? answerPlainHttp(s) : this.alpnChallenges.route(s, toTls, wait),
      ),
    );
    // A failed handshake (unknown name, TLS 1.0, garbage) concerns that client only.
    this.server.on('tlsClientError', (_err, socket) => socket.destroy());
    this.applyDefault();
    book.onDefaultChange(() => this.applyDefault());
  }

  /** Clients that send no name get the default certificate, or none (their handshake fails). */
  private applyDefault(): void {
    const d = this.book.defaultEntry;
    this.server.setSecureContext(d === null ? SERVER_TLS : { cert: d.cert, key: d.key, ...SERVER_TLS });
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return listenOn(this.front, host, port);
  }

  /** A connection accepted elsewhere (the primary of `workers: N`): served as if this listener had accepted it. */
  adopt(socket: Socket): void {
    this.front.emit('connection', socket);
  }

  /** HTTP/2 connections open now, over TLS or h2c (their requests are in the data plane's in-flight work). */
  get sessionCount(): number {
    return this.sessions.count;
  }

  /** Stops accepting; HTTP/2 sessions are closed by their owner, HTTP/1.1 sockets by the plain listener's server. */
  async close(): Promise<void> {
    await new Promise<void>((r) => this.front.close(() => r()));
  }
}

/**
 * A TLS connection opens with a handshake record (0x16); a plain HTTP request opens with its method's
 * letters. Anything else goes to the TLS server, which refuses it as it always did.
 */
function recordKind(seen: Buffer): 'tls' | 'http' | null {
  const first = seen[0];
  if (first === undefined) return null;
  return first >= 0x41 && first <= 0x5a ? 'http' : 'tls';
}

/** Plain HTTP sent to the TLS port: told so in its own terms (nginx and Caddy answer 400 too), then closed. */
function answerPlainHttp(socket: Socket): void {
  answerRaw(socket, 400, 'tls_required', 'this port speaks TLS: use https:// (plain HTTP is served on `listen`)');
}
