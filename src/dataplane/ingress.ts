// The request entry: admit, route, split, rewrite headers, hand over to an Exchange. Synchronous
// until the upstream call and reads one routing-table snapshot per request. Everything refused here
// is the client's doing: it is answered 4xx/5xx by veer and never reaches a pool's counters.
import type { FrontRequest, FrontResponse } from './front.js';
import type { Clock, Random } from '../domain/clock.js';
import type { AccessEntry } from './access-entry.js';
import { NO_CLIENT } from '../metrics/window.js';
import { admit, type Admitted } from './admission.js';
import { Exchange } from './exchange.js';
import type { ExchangeEnv } from './exchange-env.js';
import { HSTS_FIELD, peerAddress, STICKY_FIELD, upstreamRequestHeaders, viaHasLoop } from './headers.js';
import type { AnswerCounts } from './answers.js';
import { sendProxyError, type ProxyErrorCode } from './responses.js';
import { choosePoolFor, overrideOf, stickyCookieFor } from './pool-choice.js';
import { judgedGroup, type RoutingTable, type ServiceRoute } from './table.js';
import type { HeldRequests } from './hold.js';
import { retryAfterOf, type MaintenanceNow } from './maintenance.js';
import { httpsLocation, type RedirectPolicy } from './https-redirect.js';
import type { RequestTracing } from './request-tracing.js';
import type { TargetWaits } from './target-wait.js';
import type { Upstream } from './upstream.js';
import { GrpcCall, type GrpcRoute } from './grpc-call.js';
import { DeadlineSweep } from './upstream-deadlines.js';

export interface IngressOptions {
  clock: Clock;
  random: Random;
  retryConnectErrors: boolean;
  /** Lower-case header name, or null when the override is disabled. */
  overrideHeader: string | null;
  /** Whether a peer may use the override header. */
  overrideFrom: (ip: string) => boolean;
  viaPseudonym: string;
  isTrusted: (ip: string) => boolean;
  maxHeaders: number;
  answers: AnswerCounts;
  waits: TargetWaits;
  refused: (target: Upstream, why: string) => boolean;
  /** The service's maintenance switch when it is on (null: off). */
  maintenance: (service: string) => MaintenanceNow | null;
  holds: HeldRequests;
  /** Plain requests for hosts with a certificate go to https (`tls.redirect`); null: served as they are. */
  redirect: RedirectPolicy | null;
  /** Strict-Transport-Security on answers over TLS (`tls.hsts`). */
  hsts: string | null;
  /** Each request's id and access line. */
  tracing: RequestTracing;
}

export class Ingress {
  private readonly env: ExchangeEnv;

  constructor(
    private readonly opts: IngressOptions,
    private readonly table: () => RoutingTable,
  ) {
    this.env = {
      clock: opts.clock,
      random: opts.random,
      retryConnectErrors: opts.retryConnectErrors,
      viaEntry: `1.1 ${opts.viaPseudonym}`,
      answers: opts.answers,
      waits: opts.waits,
      table,
      refused: opts.refused,
      deadlines: new DeadlineSweep(),
    };
  }

  private refuse(res: FrontResponse, code: ProxyErrorCode, entry: AccessEntry | null): void {
    this.opts.answers.note(code);
    sendProxyError(res, code, undefined, undefined, entry);
    this.opts.answers.given(res, entry);
  }

  readonly handle = (req: FrontRequest, res: FrontResponse): void => {
    const entry = this.opts.tracing.open(req, res);
    const admitted = admit(req, this.opts.maxHeaders);
    if (typeof admitted === 'string') return this.refuse(res, admitted, entry);
    this.route(req, res, admitted, entry);
  };

  /** Also where a held request comes back when its service's maintenance ends: routed again, as it is now. */
  private route(req: FrontRequest, res: FrontResponse, admitted: Admitted, entry: AccessEntry | null): void {
    const headers = req.headers;
    const url = req.url as string;
    // The TLS socket itself, or (HTTP/2) the compat proxy's view of it.
    const encrypted = req.socket.encrypted === true;
    const location =
      encrypted || this.opts.redirect === null ? null : httpsLocation(this.opts.redirect, admitted.host, url);
    if (location !== null) return this.opts.answers.given(res, redirect(res, location, entry));
    const route = this.table().router.lookup(admitted.host, url);
    if (route === undefined) return this.refuse(res, 'no_route', entry);
    if (entry !== null) entry.route = route;
    if (viaHasLoop(headers.via, this.opts.viaPseudonym)) return this.refuse(res, 'loop_detected', entry);
    const m = this.opts.maintenance(route.name);
    if (m !== null) return this.maintain(req, res, admitted, route, m, entry);

    // The entry read both already (it is null only while ids and the access log are both off).
    const peer = entry?.peer ?? peerAddress(req.socket.remoteAddress);
    const upstreamHeaders = upstreamRequestHeaders(req.rawHeaders, {
      peer,
      trustedPeer: entry?.trustedPeer ?? this.opts.isTrusted(peer),
      proto: encrypted ? 'https' : 'http',
      viaEntry: this.env.viaEntry,
      authority: admitted.authority,
      idHeader: this.opts.tracing.header,
      requestId: entry?.id ?? null,
    });
    if (upstreamHeaders === null) return this.refuse(res, 'bad_host', entry);

    const length = headers['content-length'];
    const chunked = headers['transfer-encoding'] !== undefined;
    if (length !== undefined && Number(length) > route.maxRequestBody)
      return this.refuse(res, 'payload_too_large', entry);

    const override = overrideOf(headers, this.opts.overrideHeader, peer, this.opts.overrideFrom);
    const choice = choosePoolFor(route, override, headers, url, this.opts.random);
    const { pool, bucket } = choice;
    const cookie = stickyCookieFor(route, choice, encrypted);
    const extra = extraHeaders(cookie, encrypted ? this.opts.hsts : null, entry);
    const hasBody = chunked || (length !== undefined && length !== '0');
    const group = judgedGroup(route, url);
    const call = route.grpc === null ? null : grpcCallOf(route.grpc, headers, upstreamHeaders);
    const client = bucket ?? NO_CLIENT;
    const x = new Exchange(
      this.env,
      req,
      res,
      route,
      pool,
      upstreamHeaders,
      hasBody,
      extra,
      group,
      client,
      call,
      entry,
    );
    x.forced = choice.forced;
    x.start();
  }

  /** Maintenance answers and holds are veer's own: no pool sees them, so the judge never does. */
  private maintain(
    req: FrontRequest,
    res: FrontResponse,
    admitted: Admitted,
    route: ServiceRoute,
    m: MaintenanceNow,
    entry: AccessEntry | null,
  ): void {
    const retryAfter = ['retry-after', retryAfterOf(m, route.pages.retryAfterS)];
    const answer = (code: 'maintenance' | 'maintenance_timeout'): void => {
      this.opts.answers.note(code);
      sendProxyError(res, code, retryAfter, route.pages, entry);
      this.opts.answers.given(res, entry, route.timeouts.body);
    };
    if (m.mode === 'page') return answer('maintenance');
    const limits = { timeoutMs: route.pages.holdTimeoutMs, max: route.pages.maxHeld };
    const held = this.opts.holds.hold(
      route.name,
      res,
      limits,
      () => this.route(req, res, admitted, entry),
      () => answer('maintenance_timeout'),
    );
    if (!held) answer('maintenance_timeout');
  }
}

function extraHeaders(cookie: string | null, hsts: string | null, entry: AccessEntry | null): string[] | null {
  const id = entry?.id ?? null;
  if (cookie === null && hsts === null && id === null) return null;
  const out: string[] = [];
  if (cookie !== null) out.push(STICKY_FIELD, cookie);
  if (hsts !== null) out.push(HSTS_FIELD, hsts);
  if (id !== null) out.push((entry as AccessEntry).idHeader, id);
  return out;
}

/** Veer's own answer (no body): its close tells whether its client took it, as an error page's does. */
function redirect(res: FrontResponse, location: string, entry: AccessEntry | null): AccessEntry | null {
  const headers = ['location', location, 'content-length', '0', 'cache-control', 'no-store'];
  if (entry !== null) entry.ownAnswer = true;
  if (entry?.id != null) headers.push(entry.idHeader, entry.id);
  res.writeHead(308, headers).end();
  return entry;
}

/**
 * A request to an h2c service. `TE: trailers` is hop-by-hop, yet gRPC servers require it (it says the
 * client reads trailers): it goes on to the h2c upstream when the client sent it.
 */
function grpcCallOf(route: GrpcRoute, headers: FrontRequest['headers'], upstream: string[]): GrpcCall | null {
  const te = headers.te;
  if (typeof te === 'string' && /(^|,)\s*trailers\s*(;|,|$)/i.test(te)) upstream.push('te', 'trailers');
  return GrpcCall.of(route, headers);
}
