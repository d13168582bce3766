// WebSocket (and other HTTP Upgrade) proxying through http-proxy, which earns its place here.
// Its known sharp edges are handled: an unhandled ECONNRESET on either socket would crash the
// process, so both sockets get error handlers, and every tunnel is tracked so a drain or shutdown
// can end it. Upgrades pass the same admission as plain requests, split the same way, and appear
// in the pool's metrics (101 or the upstream's refusal as a request, a failed connect as an error).
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import type { Clock, Random } from '../domain/clock.js';
import type { AnswerCounts } from './answers.js';
import { retryAfterOf, type MaintenanceNow } from './maintenance.js';
import { admit, hostFieldCount } from './admission.js';
import { connectionTokens, peerAddress, viaHasLoop } from './headers.js';
import { choosePoolFor, overrideOf, pickIn, stickyCookieFor } from './pool-choice.js';
import type { RequestTracing } from './request-tracing.js';
import { answerRaw, httpStatusOf, messageOf, type ProxyErrorCode } from './responses.js';
import type { PoolRuntime, RoutingTable } from './table.js';
import type { Upstream } from './upstream.js';
import { CLOSE_GOING_AWAY, FrameBoundaries } from './ws-frames.js';
import { withoutSessionCookie } from '../domain/session-cookie.js';

export interface WebSocketOptions {
  clock: Clock;
  random: Random;
  overrideHeader: string | null;
  overrideFrom: (ip: string) => boolean;
  viaPseudonym: string;
  isTrusted: (ip: string) => boolean;
  maxHeaders: number;
  answers: AnswerCounts;
  /** The upgrade's request id: passed upstream and returned with the upstream's answer. */
  tracing: RequestTracing;
  /** The service's maintenance switch when it is on (null: off). */
  maintenance: (service: string) => MaintenanceNow | null;
}

interface Tunnel {
  readonly client: Duplex;
  readonly target: Upstream;
  readonly pool: PoolRuntime;
  readonly websocket: boolean;
  readonly startedAt: number;
  upstream: Duplex | null;
  frames: FrameBoundaries | null;
  /** Its request id (null: ids are off). */
  readonly id: string | null;
  /** The sticky cookie the 101 sets (stickyCookieFor), or null. */
  readonly cookie: string | null;
}

/** How long a client gets to answer veer's close frame before its socket is destroyed. */
const CLOSE_GRACE_MS = 1_000;
// Hop-by-hop fields of the client's upgrade request that must not reach the upstream (Node has
// answered any Expect itself).
const UPGRADE_HOP_BY_HOP = ['keep-alive', 'proxy-connection', 'te', 'trailer', 'proxy-authorization', 'expect'];
// Beyond what no Connection header may remove (headers.ts), the fields the handshake itself needs.
const HANDSHAKE = new Set(['upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version']);

type Field = readonly [name: string, value: string];

/** veer's own refusal of an upgrade, never a pool's: its id in a header and in the body, as on plain requests. */
function reject(socket: Duplex, code: ProxyErrorCode, answers: AnswerCounts, id?: Field, extra?: Field[]): void {
  answers.note(code);
  answerRaw(socket, httpStatusOf(code), code, messageOf(code), id, extra);
}

/** The client's connection is TLS (node:tls marks its sockets; a plain one has no such field). */
function encrypted(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true;
}

export class WebSocketProxy {
  private readonly proxy = httpProxy.createProxyServer({ ws: true, xfwd: false, proxyTimeout: 0 });
  private readonly byClient = new Map<Duplex, Tunnel>();
  private readonly byUpstream = new Map<Duplex, Tunnel>();

  constructor(
    private readonly opts: WebSocketOptions,
    private readonly table: () => RoutingTable,
  ) {
    this.proxy.on('error', (_err, _req, target) => {
      const s = target as Duplex | undefined;
      if (s && typeof s.destroy === 'function') s.destroy();
    });
    this.proxy.on('proxyReqWs', (proxyReq: ClientRequest, req: IncomingMessage, socket: Duplex) => {
      // http-proxy rebuilds the path (merging slashes, say); the upstream must get what was routed.
      proxyReq.path = req.url as string;
      const tunnel = this.byClient.get(socket);
      if (tunnel !== undefined) this.watch(proxyReq, tunnel);
    });
    // After http-proxy has piped the sockets: from here on the upstream's bytes flow to the client.
    this.proxy.on('open', (upstream: Duplex) => {
      upstream.on('error', () => upstream.destroy());
      const tunnel = this.byUpstream.get(upstream);
      if (tunnel?.websocket) {
        const frames = new FrameBoundaries();
        tunnel.frames = frames;
        upstream.on('data', (c: Buffer) => frames.feed(c));
      }
    });
  }

  readonly handle = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const id = this.opts.tracing.idOf(req);
    const idField = id === null ? undefined : ([this.opts.tracing.header, id] as const);
    const refuse = (code: ProxyErrorCode, extra?: Field[]): void =>
      reject(socket, code, this.opts.answers, idField, extra);
    const admitted = admit(req, this.opts.maxHeaders);
    if (typeof admitted === 'string') return refuse(admitted);
    if (hostFieldCount(req.rawHeaders) > 1) return refuse('bad_host');
    // A handshake has no body (RFC 6455 §4.1); one that declares a body would leave the upstream
    // waiting for bytes that are never forwarded.
    if (req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0')
      return refuse('bad_request');
    const route = this.table().router.lookup(admitted.host, req.url as string);
    if (route === undefined) return refuse('no_route');
    if (viaHasLoop(req.headers.via, this.opts.viaPseudonym)) return refuse('loop_detected');
    // In maintenance, a handshake is refused in either mode: held, it would only wait for a tunnel whose
    // client gives up long before a maintenance ends; the Retry-After says when to come back.
    const m = this.opts.maintenance(route.name);
    if (m !== null) return refuse('maintenance', [['retry-after', retryAfterOf(m, route.pages.retryAfterS)]]);
    // An h2c upstream cannot take an HTTP/1.1 Upgrade: the attempt would fail like a dead target and count
    // against its pool, so anyone could roll a healthy canary back with handshakes. The client's fault.
    if (route.grpc !== null) return refuse('upgrade_unsupported');
    const peer = peerAddress(req.socket.remoteAddress);
    const override = overrideOf(req.headers, this.opts.overrideHeader, peer, this.opts.overrideFrom);
    const choice = choosePoolFor(route, override, req.headers, req.url as string, this.opts.random);
    const pick = pickIn(route, choice.pool, this.opts.clock.now(), this.opts.random);
    if (pick.pool === null) return refuse(pick.why);

    this.setForwardedHeaders(req, peer, admitted.authority);
    if (id !== null) req.headers[this.opts.tracing.header] = id;
    const target = pick.target;
    const tunnel: Tunnel = {
      client: socket,
      target,
      pool: pick.pool,
      websocket: /^websocket$/i.test(req.headers.upgrade ?? ''),
      startedAt: performance.now(),
      upstream: null,
      frames: null,
      id,
      // A client whose first contact is a handshake keeps its draw, as a plain request's client does.
      cookie: stickyCookieFor(route, choice, encrypted(req)),
    };
    target.outstanding++;
    this.byClient.set(socket, tunnel);
    socket.once('close', () => this.forget(tunnel));
    this.proxy.ws(req, socket, head, { target: { host: target.address.host, port: target.address.port } }, () => {
      // Only a failure before the upgrade is the pool's; a tunnel that breaks later was a success.
      if (tunnel.upstream === null && !socket.destroyed)
        tunnel.pool.window.recordFailure(this.opts.clock.now(), 'connect', performance.now() - tunnel.startedAt);
      if (tunnel.upstream === null && socket.writable) refuse('upstream_unreachable');
      else socket.destroy();
    });
  };

  private watch(proxyReq: ClientRequest, tunnel: Tunnel): void {
    proxyReq.once('upgrade', (res: IncomingMessage, upstream: Duplex) => {
      // Runs before http-proxy writes the 101 from these headers.
      if (tunnel.id !== null) res.headers[this.opts.tracing.header] = tunnel.id;
      if (tunnel.cookie !== null) res.headers['set-cookie'] = [...(res.headers['set-cookie'] ?? []), tunnel.cookie];
      tunnel.upstream = upstream;
      this.byUpstream.set(upstream, tunnel);
      upstream.once('close', () => this.byUpstream.delete(upstream));
      tunnel.pool.window.record(this.opts.clock.now(), 101, performance.now() - tunnel.startedAt);
    });
    // http-proxy relays a refused upgrade (a non-101 answer) as the parsed headers plus the decoded
    // body, so a chunked answer would reach the client without its chunk framing. Runs before
    // http-proxy's own 'response' listener and turns it into a close-delimited answer.
    proxyReq.once('response', (res: IncomingMessage) => {
      if (res.statusCode === 101) return;
      tunnel.pool.window.record(this.opts.clock.now(), res.statusCode ?? 502, performance.now() - tunnel.startedAt);
      // The answer ends the exchange: once it is written, close the connection for good, or bytes the
      // client sent after its handshake (never read) would keep it half-open forever.
      tunnel.client.once('finish', () => tunnel.client.destroy());
      delete res.headers['transfer-encoding'];
      delete res.headers['keep-alive'];
      res.headers.connection = 'close';
      if (tunnel.id !== null) res.headers[this.opts.tracing.header] = tunnel.id;
    });
  }

  private forget(tunnel: Tunnel): void {
    if (!this.byClient.delete(tunnel.client)) return;
    tunnel.target.outstanding--;
    tunnel.upstream?.destroy();
  }

  private setForwardedHeaders(req: IncomingMessage, peer: string, authority: string | undefined): void {
    const h = req.headers;
    if (authority !== undefined) h.host = authority;
    for (const name of connectionTokens(h.connection ?? '', HANDSHAKE)) delete h[name];
    h.connection = 'Upgrade';
    for (const name of UPGRADE_HOP_BY_HOP) delete h[name];
    const trusted = this.opts.isTrusted(peer);
    h['x-forwarded-for'] = trusted && h['x-forwarded-for'] ? `${h['x-forwarded-for']}, ${peer}` : peer;
    if (!trusted || !h['x-forwarded-proto']) h['x-forwarded-proto'] = encrypted(req) ? 'https' : 'http';
    if (!trusted || !h['x-forwarded-host']) {
      if (h.host !== undefined) h['x-forwarded-host'] = h.host;
    }
    if (!trusted) delete h.forwarded;
    const cookie = h.cookie === undefined ? null : withoutSessionCookie(h.cookie);
    if (cookie === null) delete h.cookie;
    else h.cookie = cookie;
    const via = `1.1 ${this.opts.viaPseudonym}`;
    h.via = h.via ? `${h.via}, ${via}` : via;
  }

  get openCount(): number {
    return this.byClient.size;
  }

  /**
   * Ends the tunnels to targets no longer routed (`released`): the upstream side is cut, and a
   * WebSocket client gets a close frame 1001 ("going away") between two frames, so it reconnects
   * through the new routing; a tunnel caught mid-frame, or not a WebSocket, is closed outright.
   */
  closeWhere(released: (target: Upstream) => boolean): number {
    let n = 0;
    for (const t of [...this.byClient.values()]) {
      if (!released(t.target)) continue;
      n++;
      this.goAway(t);
    }
    return n;
  }

  private goAway(t: Tunnel): void {
    t.upstream?.destroy();
    if (t.websocket && t.upstream !== null && (t.frames === null || t.frames.atBoundary) && t.client.writable) {
      t.client.end(CLOSE_GOING_AWAY);
      setTimeout(() => t.client.destroy(), CLOSE_GRACE_MS).unref();
    } else {
      t.client.destroy();
    }
  }

  closeAll(): void {
    for (const t of [...this.byClient.values()]) this.goAway(t);
    this.proxy.close();
  }
}
