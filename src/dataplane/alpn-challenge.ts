// ACME tls-alpn-01 (RFC 8737) on the HTTPS port: a connection whose ClientHello offers `acme-tls/1`
// gets the challenge certificate for the name it asks for, from a lookup the ACME side provides (the
// state store, so any replica answers what the leader published), and nothing else: the validation
// is the handshake itself. Every other connection goes to the TLS listener untouched. The ClientHello
// is read only while a lookup is set, bounded in bytes and time.
import type { Socket } from 'node:net';
import { createServer as createTls, type SecureContext, type Server as TlsServer } from 'node:tls';
import { withTimeout } from '../domain/async.js';
import { helloAlpn, type HelloAlpn } from './client-hello.js';
import { SERVER_TLS } from './server-tls.js';

export const ACME_TLS = 'acme-tls/1';
/** A ClientHello fits in one TLS record. */
const HELLO_MAX = 16_384 + 5;
const LOOKUP_MS = 2_000;

/** The challenge certificate published for a name, or null when none is. */
export type AlpnChallengeLookup = (servername: string) => Promise<SecureContext | null>;

export class AlpnChallenges {
  private lookup: AlpnChallengeLookup | null = null;
  private readonly server: TlsServer;

  constructor(handshakeTimeout: number) {
    this.server = createTls(
      {
        ...SERVER_TLS,
        ALPNProtocols: [ACME_TLS],
        handshakeTimeout,
        SNICallback: (name, cb) => {
          const lookup = this.lookup;
          if (lookup === null) return cb(new Error('no ACME challenge'));
          withTimeout(
            lookup(name.toLowerCase().replace(/\.$/, '')),
            LOOKUP_MS,
            'looking up an ACME TLS challenge',
          ).then(
            (context) => (context === null ? cb(new Error(`no ACME challenge for "${name}"`)) : cb(null, context)),
            (e: Error) => cb(e),
          );
        },
      },
      (socket) => socket.end(),
    );
    this.server.on('tlsClientError', (_err, socket) => socket.destroy());
  }

  /** Set once ACME with tls-alpn-01 is wired (null: connections are not looked into). */
  use(lookup: AlpnChallengeLookup | null): void {
    this.lookup = lookup;
  }

  /** Hands the connection to `normal`, unless its ClientHello asks for `acme-tls/1`. */
  route(socket: Socket, normal: (socket: Socket) => void, timeoutMs: number): void {
    if (this.lookup === null) return normal(socket);
    let seen: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
    };
    const onError = (): void => {
      done();
      socket.destroy();
    };
    const onData = (chunk: Buffer): void => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const hello = readHello(seen);
      if (hello === 'incomplete' && seen.length < HELLO_MAX) return;
      done();
      // The bytes go back in front of the stream: the TLS server reads the whole ClientHello.
      socket.pause();
      socket.unshift(seen);
      if (typeof hello === 'object' && hello.alpn.includes(ACME_TLS)) this.server.emit('connection', socket);
      else normal(socket);
    };
    socket.on('data', onData);
    socket.on('error', onError);
    // The first bytes were looked at (tls-listener.ts) and put back on a paused socket: read on.
    socket.resume();
  }
}

/** A parser bug must cost one connection its ACME look, never the process (this runs in a 'data' handler). */
function readHello(seen: Buffer): HelloAlpn {
  try {
    return helloAlpn(seen);
  } catch {
    return 'unreadable';
  }
}
