// HTTP/2 client connections, whichever port they came in on: ALPN h2 on the TLS port, or the h2c
// preface on the plain one. One HTTP/2 server takes them all, so the stream and header-list limits,
// the idle bound and the rapid-reset guard (CVE-2023-44487) are the same code for both.
import { constants, createServer as createH2, type Http2Server, type ServerHttp2Session } from 'node:http2';
import type { IncomingHttpHeaders } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { settledWithin } from '../domain/async.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../domain/log.js';
import { resetByVeer } from './h2-response.js';
import { ResetGuard } from './reset-guard.js';

/** What a session whose client sent its FIN is destroyed with (its streams reset, each a client that left). */
const CLIENT_FIN = new Error('the HTTP/2 client ended its connection');

export interface H2Limits {
  maxConcurrentStreams: number;
  maxHeaderListSize: number;
  streamResetBurst: number;
  streamResetRate: number;
  /** Request header fields veer accepts; HTTP/2 keeps a few more so admission can refuse "too many" itself. */
  maxHeaders: number;
  /** Idle connections are closed after this. */
  keepAliveTimeout: number;
}

export class H2Sessions {
  private readonly h2: Http2Server;
  private readonly sessions = new Set<ServerHttp2Session>();
  private sessionsGone: (() => void) | null = null;
  /** The socket being handed to the HTTP/2 server (its 'session' event fires within the hand-over). */
  private handing: Socket | null = null;
  /** Streams opened and not yet closed, every session's. */
  private open = 0;

  constructor(
    private readonly opts: H2Limits,
    /** Each stream with its connection's socket (no 'request' listener: Node's compatibility objects are not made). */
    private readonly request: (
      stream: ServerHttp2Stream,
      headers: IncomingHttpHeaders,
      raw: string[],
      socket: Socket,
    ) => void,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.h2 = createH2({
      settings: { maxConcurrentStreams: opts.maxConcurrentStreams, maxHeaderListSize: opts.maxHeaderListSize },
      // Pseudo-headers count as pairs too; admission refuses more than maxHeaders regular fields (431).
      maxHeaderListPairs: opts.maxHeaders + 8,
    });
    this.h2.on('session', this.onSession);
  }

  /** A connection that speaks HTTP/2 (TLS handshake done, or the h2c preface seen). */
  accept(socket: Socket): void {
    this.handing = socket;
    this.h2.emit('connection', socket);
    this.handing = null;
  }

  private readonly onSession = (session: ServerHttp2Session): void => {
    this.sessions.add(session);
    const socket = this.handing as Socket;
    session.once('close', () => {
      // The socket goes with its session, whoever ended it (a flood's destroy, the idle timeout).
      socket.destroy();
      this.sessions.delete(session);
      if (this.sessions.size === 0) this.sessionsGone?.();
    });
    session.on('error', () => session.destroy());
    // HTTP/2 has no half-closed connection: after its FIN the client can send nothing more (no WINDOW_UPDATE, body
    // or RST_STREAM), so a stream waiting for its window would wait for the body bound. Node's http2 does nothing
    // on the socket's 'end' (and the plain port's sockets allow half-open), so it is taken as the reset a close with
    // unread bytes sends: destroyed with an error, every open stream ends as a client that left (nginx: EOF ends it).
    socket.once('end', () => session.destroy(CLIENT_FIN));
    // close(), not destroy(): an idle connection goes, a quiet long-lived stream (gRPC) finishes first.
    session.setTimeout(this.opts.keepAliveTimeout, () => session.close());
    const { clock, log } = this;
    const owner = this;
    const guard = new ResetGuard(this.opts.streamResetBurst, this.opts.streamResetRate, clock.now());
    let closing = false;
    // One listener for every stream of the session (a stream closes once): nothing is made per stream for it.
    // Only the client's resets count: veer's own (an answer cut short, a client too slow) are not a flood.
    const streamClosed = function (this: ServerHttp2Stream): void {
      owner.open--;
      if (closing || this.rstCode === constants.NGHTTP2_NO_ERROR || session.destroyed || resetByVeer(this)) return;
      if (guard.allow(clock.now())) return;
      closing = true;
      log.log('warn', 'HTTP/2 client reset streams too fast: connection closed', { peer: socket.remoteAddress });
      // Not from inside nghttp2's stream-close callback: a GOAWAY or destroy there is not acted on.
      setImmediate(() => {
        session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
        session.destroy();
      });
    };
    session.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw: string[]) => {
      this.open++;
      stream.on('close', streamClosed);
      this.request(stream, headers, raw, socket);
    });
  };

  /** HTTP/2 connections open now (their requests are in the data plane's in-flight work). */
  get count(): number {
    return this.sessions.size;
  }

  /** HTTP/2 requests in flight: streams opened and not yet closed. */
  get streams(): number {
    return this.open;
  }

  /** Lets sessions finish their streams (GOAWAY) within `graceMs`, then ends them. */
  async close(graceMs: number): Promise<void> {
    for (const s of this.sessions) s.close();
    if (this.sessions.size > 0) await settledWithin(new Promise<void>((r) => (this.sessionsGone = r)), graceMs);
    for (const s of this.sessions) s.destroy();
  }
}
