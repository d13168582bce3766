// Everything HTTPS adds to the data plane, in one place: the certificates (a CertificateBook kept
// current from the configured files), the TLS listener, and what the ingress needs to know about
// them (which hosts redirect to which port, the HSTS value).
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { TlsConfig } from '../config/tls-schema.js';
import { ConfigError, type Problem } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import type { AlpnChallenges } from './alpn-challenge.js';
import { CertificateBook } from './certificate-book.js';
import { CertificateWatch, type CertificateSet } from './certificate-watch.js';
import type { H2Sessions } from './h2-sessions.js';
import type { RedirectPolicy } from './https-redirect.js';
import { TlsListener } from './tls-listener.js';

export interface TlsFrontDeps {
  log: Logger;
  handshakeTimeout: number;
}

export interface TlsFrontEdge {
  http1(socket: TLSSocket): void;
  /** The HTTP/2 sessions h2 connections join (shared with the plain port's h2c ones). */
  sessions: H2Sessions;
}

export class TlsFront {
  /** The SNI map: anything that obtains certificates (ACME) puts them here. */
  readonly book = new CertificateBook();
  private readonly watch: CertificateWatch;
  private readonly listener: TlsListener;
  private port = 0;
  /** For the ingress: plain requests for a host a certificate names go to this listener. */
  readonly redirect: RedirectPolicy | null;
  readonly hsts: string | null;

  constructor(
    private readonly config: TlsConfig,
    deps: TlsFrontDeps,
    edge: TlsFrontEdge,
  ) {
    this.watch = new CertificateWatch(this.book, config.watchInterval, deps.log);
    const problems = this.watch.load(config);
    if (problems.length > 0) throw new ConfigError('tls: a certificate cannot be used', problems);
    const opts = { http2: config.http2, handshakeTimeout: deps.handshakeTimeout };
    this.listener = new TlsListener(this.book, opts, { http1: edge.http1 }, edge.sessions);
    const book = this.book;
    const front = (): number => this.port;
    this.redirect = config.redirect
      ? {
          covers: (h) => book.covers(h),
          get port() {
            return front();
          },
        }
      : null;
    this.hsts = config.hsts ?? null;
  }

  /** Binds `tls.listen`, or serves what the primary of `workers: N` accepted on `bound` (handed over). */
  async listen(bound?: AddressInfo): Promise<AddressInfo> {
    const a = bound ?? (await this.listener.listen(this.config.listen.host, this.config.listen.port));
    this.port = a.port;
    this.watch.start();
    return a;
  }

  /**
   * Swaps the certificates served to new connections (a config reload); open connections keep theirs.
   * Nothing changes when one of them cannot be used: the problems are returned.
   */
  replaceCertificates(set: CertificateSet): Problem[] {
    return this.watch.load(set);
  }

  /** Checks the certificate files for changes now (as the poll does every `tls.watchInterval`). */
  pollCertificates(): void {
    this.watch.poll();
  }

  /** A connection accepted elsewhere (the primary of `workers: N`), before its handshake. */
  adopt(socket: Socket): void {
    this.listener.adopt(socket);
  }

  /** ACME tls-alpn-01 answers on this listener (the ACME side sets their lookup). */
  get alpnChallenges(): AlpnChallenges {
    return this.listener.alpnChallenges;
  }

  /** HTTP/2 connections open now (either port). */
  get http2Sessions(): number {
    return this.listener.sessionCount;
  }

  async close(): Promise<void> {
    this.watch.stop();
    await this.listener.close();
  }
}
