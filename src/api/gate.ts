// Who may talk to the admin API at all, decided before routing, body parsing or any framework
// error can answer: with a token, only callers presenting it (probes excepted); without one, only
// requests addressed to a loopback host name (see host-check.ts). The dashboard's session cookie
// stands in for the token, and a state-changing call it authenticates must carry the session's CSRF
// token in a header. Nothing about the request is echoed back in a refusal.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { UnauthorizedError, VeerError } from '../domain/errors.js';
import { isLoopbackIp } from '../domain/loopback.js';
import { bearerMatches } from './auth.js';
import { sendError } from './errors.js';
import { isLoopbackHostHeader } from './host-check.js';
import { cookieValue, CSRF_HEADER, csrfMatches, SESSION_COOKIE, type Sessions } from './sessions.js';

/** Route patterns that probes (load balancers, orchestrators) reach without credentials. */
const PUBLIC_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz']);
/** The dashboard's page, its assets and its login: static, or answering only about the caller's own session. */
const UI_PUBLIC_ROUTES: ReadonlySet<string> = new Set(['/ui', '/ui/assets/:file', '/ui/session', '/ui/login']);
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What the gate looks at: plain data, so the decision is a pure function. */
export interface Caller {
  /** The matched route pattern; undefined for unmatched and unroutable requests, which stay protected. */
  route: string | undefined;
  host: string | undefined;
  authorization: string | undefined;
  httpVersion: string;
  peer: string | undefined;
  /** Absent: treated as GET (a caller built without it changes nothing). */
  method?: string;
  cookie?: string | undefined;
  /** The CSRF header's value. */
  csrf?: string | string[] | undefined;
  origin?: string | undefined;
}

export class MisdirectedRequestError extends VeerError {
  constructor() {
    super(
      'misdirected_request',
      421,
      'the admin API has no token, so it only answers requests addressed to a loopback host name ' +
        '(localhost, 127.0.0.1 or [::1]): use one, or set admin.token',
    );
  }
}

const missingHost = (): VeerError => new VeerError('bad_request', 400, 'missing Host header (HTTP/1.1 requires one)');

export class CsrfError extends VeerError {
  constructor(why: string) {
    super('csrf_failed', 403, `refused: ${why}`);
  }
}

const isPublic = (route: string | undefined): boolean =>
  route !== undefined && (PUBLIC_ROUTES.has(route) || UI_PUBLIC_ROUTES.has(route));

/**
 * A browser names the page that sent a request in Origin: a state-changing call from another origin
 * is refused whatever authenticates it (the tokenless API included, which has no cookie to check).
 */
function crossOrigin(c: Caller): VeerError | null {
  if (c.origin === undefined || SAFE_METHODS.has(c.method ?? 'GET')) return null;
  let host: string;
  try {
    host = new URL(c.origin).host;
  } catch {
    return new CsrfError('the Origin header is not an origin');
  }
  return host !== '' && host.toLowerCase() === (c.host ?? '').trim().toLowerCase()
    ? null
    : new CsrfError('a state-changing call from another origin');
}

/** Without a bearer token: a live session, and for a state-changing call its CSRF header. */
function sessionRefusal(c: Caller, token: string, sessions: Sessions | undefined): VeerError | null {
  const session = sessions?.find(cookieValue(c.cookie, SESSION_COOKIE), token) ?? null;
  if (session === null) return new UnauthorizedError();
  if (SAFE_METHODS.has(c.method ?? 'GET') || csrfMatches(c.csrf, session)) return null;
  return new CsrfError('a call authenticated by the session cookie must send the X-Veer-CSRF header from /ui/session');
}

/** Null when the caller may go on; else the refusal to send. */
export function admit(c: Caller, token: string, sessions?: Sessions): VeerError | null {
  const foreign = crossOrigin(c);
  if (foreign) return foreign;
  if (token !== '') {
    if (!isPublic(c.route) && !bearerMatches(c.authorization, token)) {
      const refusal = sessionRefusal(c, token, sessions);
      if (refusal) return refusal;
    }
    return c.host === undefined && c.httpVersion !== '1.0' ? missingHost() : null;
  }
  if (c.host !== undefined) return isLoopbackHostHeader(c.host) ? null : new MisdirectedRequestError();
  // No Host at all is never a browser (every browser sends one), so a rebinding page cannot be the
  // caller: HTTP/1.0 from a loopback peer is served, anything else is not.
  if (c.httpVersion !== '1.0') return missingHost();
  return c.peer !== undefined && isLoopbackIp(c.peer) ? null : new MisdirectedRequestError();
}

/** `route`: undefined before routing, which keeps every route protected. */
function callerOfRaw(raw: IncomingMessage, route: string | undefined): Caller {
  return {
    route,
    host: raw.headers.host,
    authorization: raw.headers.authorization,
    httpVersion: raw.httpVersion,
    peer: raw.socket?.remoteAddress,
    method: raw.method ?? 'GET',
    cookie: raw.headers.cookie,
    csrf: raw.headers[CSRF_HEADER],
    origin: raw.headers.origin,
  };
}

export function callerOf(request: FastifyRequest): Caller {
  return callerOfRaw(request.raw, request.routeOptions.url);
}

/** Sends the refusal (with the bearer challenge on a 401); false when the caller may go on. */
export function refuseUnlessAdmitted(
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
  sessions?: Sessions,
): boolean {
  const refusal = admit(callerOf(request), token, sessions);
  if (refusal === null) return false;
  if (refusal instanceof UnauthorizedError) reply.header('www-authenticate', 'Bearer realm="veer"');
  sendError(reply, refusal);
  return true;
}

/**
 * Must be the first onRequest hook. Framework errors, which skip hooks, call refuseUnlessAdmitted
 * themselves. Node would answer `Expect: 100-continue` (and 417 any other expectation) before any
 * hook runs: only an admitted caller is invited to send its body, and the rest is left to the hooks.
 */
export function installGate(app: FastifyInstance, token: () => string, sessions?: Sessions): void {
  app.addHook('onRequest', async (request, reply) => {
    if (refuseUnlessAdmitted(request, reply, token(), sessions)) return reply;
  });
  app.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (admit(callerOfRaw(req, undefined), token()) === null) res.writeContinue();
    app.server.emit('request', req, res);
  });
  app.server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) =>
    app.server.emit('request', req, res),
  );
}
