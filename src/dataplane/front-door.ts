// The data plane's listeners and the request entry they share: the plain HTTP listener, the
// WebSocket tunnels, and (with a `tls` section) the HTTPS listener, whose HTTP/1.1 connections are
// served by the plain listener's HTTP machinery and whose HTTP/2 requests enter the same ingress.
import type { Config } from '../config/schema.js';
import type { Clock, Random } from '../domain/clock.js';
import type { Logger } from '../domain/log.js';
import { AcmeChallenges } from './acme-challenge.js';
import type { AnswerCounts } from './answers.js';
import { trustedProxyMatcher } from './headers.js';
import type { HeldRequests } from './hold.js';
import { Ingress } from './ingress.js';
import type { MaintenanceNow } from './maintenance.js';
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
}

export interface FrontDoor {
  server: ProxyServer;
  ws: WebSocketProxy;
  tls: TlsFront | null;
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
  const tlsDeps = {
    ...env,
    maxHeaders: p.maxHeaders,
    keepAliveTimeout: t.clientKeepAlive,
    handshakeTimeout: t.clientHeader,
  };
  const tls =
    config.tls === undefined
      ? null
      : new TlsFront(config.tls, tlsDeps, {
          http1: (socket) => server.accept(socket),
          handle: (req, res) => ingress.handle(req, res),
          refused: () => env.answers.note('method_not_allowed'),
        });
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
    },
    env.table,
  );
  const ws = new WebSocketProxy(shared, env.table);
  const challenges = new AcmeChallenges();
  const server = new ProxyServer(
    {
      keepAliveTimeout: t.clientKeepAlive,
      headersTimeout: t.clientHeader,
      requestTimeout: t.clientRequest,
      maxHeaderSize: p.maxHeaderSize,
      maxHeaders: p.maxHeaders,
    },
    {
      request: (req, res) => challenges.handle(req, res, () => ingress.handle(req, res)),
      upgrade: ws.handle,
      closeUpgraded: () => ws.closeAll(),
      refused: (code) => env.answers.note(code),
    },
  );
  return { server, ws, tls, challenges };
}
