// The data plane's listeners and the request entry they share: the plain HTTP listener, the
// WebSocket tunnels, the HTTP/2 sessions, and (with a `tls` section) the HTTPS listener, whose
// HTTP/1.1 connections are served by the plain listener's HTTP machinery. HTTP/2 connections (ALPN
// h2 over TLS, or h2c prior knowledge on the plain port) join the same sessions, whose requests
// enter the same ingress.
import type { Config } from '../config/schema.js';
import type { Clock, Random } from '../domain/clock.js';
import type { Logger } from '../domain/log.js';
import type { AccessLog } from './access-log.js';
import type { ParserRefusal, RefusedRequest } from './access-refusal.js';
import type { FrontRequest, FrontResponse } from './front.js';
import { AcmeChallenges } from './acme-challenge.js';
import type { AnswerCounts } from './answers.js';
import { http2LimitsSchema } from '../config/tls-schema.js';
import { H2Sessions } from './h2-sessions.js';
import { h2Entry } from './h2-request.js';
import { trustedProxyMatcher } from './headers.js';
import type { HeldRequests } from './hold.js';
import { Ingress } from './ingress.js';
import type { MaintenanceNow } from './maintenance.js';
import { RequestTracing } from './request-tracing.js';
import { ProxyServer } from './server.js';
import type { RoutingTable } from './table.js';
import type { TargetWaits } from './target-wait.js';
import { TlsFront } from './tls-front.js';
import type { Upstream } from './upstream.js';
import { WebSocketProxy } from './websocket.js';

export interface FrontDoorEnv {
  clock: Clock;
  random: Random;
  log: Logger;
  answers: AnswerCounts;
  waits: TargetWaits;
  table: () => RoutingTable;
  /** A target refused a connection: true when the request should wait for another. */
  refused: (target: Upstream, why: string) => boolean;
  /** The service's maintenance switch when it is on (null: off), and the requests it holds. */
  maintenance: (service: string) => MaintenanceNow | null;
  holds: HeldRequests;
  access: AccessLog;
}

export interface FrontDoor {
  server: ProxyServer;
  ws: WebSocketProxy;
  tls: TlsFront | null;
  /** HTTP/2 connections from either port. */
  h2: H2Sessions;
  /** ACME HTTP-01 answers, ahead of routing on the plain listener. */
  challenges: AcmeChallenges;
}

export function buildFrontDoor(config: Pick<Config, 'proxy' | 'tls'>, env: FrontDoorEnv): FrontDoor {
  const p = config.proxy;
  const t = p.timeouts;
  const shared = {
    answers: env.answers,
    clock: env.clock,
    random: env.random,
    overrideHeader: p.overrideHeader === false ? null : p.overrideHeader.toLowerCase(),
    overrideFrom: trustedProxyMatcher(p.overrideFrom),
    viaPseudonym: p.via,
    isTrusted: trustedProxyMatcher(p.trustedProxies),
    maxHeaders: p.maxHeaders,
  };
  const h2 = http2Sessions(config, env, (req, res) => ingress.handle(req, res));
  const tracing = new RequestTracing(p.requestIdHeader, { ...shared, access: env.access });
  const tls =
    config.tls === undefined
      ? null
      : new TlsFront(
          config.tls,
          { log: env.log, handshakeTimeout: t.clientHeader },
          { http1: (socket) => server.accept(socket), sessions: h2 },
        );
  const ingress = new Ingress(
    {
      ...shared,
      redirect: tls?.redirect ?? null,
      hsts: tls?.hsts ?? null,
      retryConnectErrors: p.retryConnectErrors,
      waits: env.waits,
      refused: env.refused,
      maintenance: env.maintenance,
      holds: env.holds,
      tracing,
    },
    env.table,
  );
  const ws = new WebSocketProxy({ ...shared, tracing, maintenance: env.maintenance }, env.table);
  const challenges = new AcmeChallenges();
  const server = new ProxyServer(
    {
      keepAliveTimeout: t.clientKeepAlive,
      headersTimeout: t.clientHeader,
      requestTimeout: t.clientRequest,
      maxHeaderSize: p.maxHeaderSize,
      maxHeaders: p.maxHeaders,
      front: p.front,
    },
    {
      request: (req, res) => challenges.handle(req, res, ingress.handle),
      upgrade: ws.handle,
      closeUpgraded: () => ws.closeAll(),
      refused: refusedBy(env),
      h2c: (socket) => h2.accept(socket),
    },
  );
  return { server, ws, tls, h2, challenges };
}

/** A request refused before it was routed: counted, and its access line written (null: it has one already). */
function refusedBy(env: FrontDoorEnv): (code: ParserRefusal, seen: RefusedRequest | null) => void {
  return (code, seen) => {
    env.answers.note(code);
    if (seen !== null) env.access.refused(seen, env.clock.now());
  };
}

/** The plain port's h2c connections get the same limits as the TLS port's (`tls.http2Limits`, or its defaults). */
function http2Sessions(
  config: Pick<Config, 'proxy' | 'tls'>,
  env: FrontDoorEnv,
  handle: (req: FrontRequest, res: FrontResponse) => void,
): H2Sessions {
  const p = config.proxy;
  const limits = config.tls?.http2Limits ?? http2LimitsSchema.parse({});
  const opts = { ...limits, maxHeaders: p.maxHeaders, keepAliveTimeout: p.timeouts.clientKeepAlive };
  return new H2Sessions(opts, h2Entry(handle, refusedBy(env)), env.clock, env.log);
}
