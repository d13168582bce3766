// Who may talk to the admin API at all, decided before routing, body parsing or any framework
// error can answer: with a token, only callers presenting it (probes excepted); without one, only
// requests addressed to a loopback host name (see host-check.ts). Nothing about the request is
// echoed back in a refusal.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { UnauthorizedError, VeerError } from '../domain/errors.js';
import { isLoopbackIp } from '../domain/loopback.js';
import { bearerMatches } from './auth.js';
import { sendError } from './errors.js';
import { isLoopbackHostHeader } from './host-check.js';

/** Route patterns that probes (load balancers, orchestrators) reach without credentials. */
const PUBLIC_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/** What the gate looks at: plain data, so the decision is a pure function. */
export interface Caller {
  /** The matched route pattern; undefined for unmatched and unroutable requests, which stay protected. */
  route: string | undefined;
  host: string | undefined;
  authorization: string | undefined;
  httpVersion: string;
  peer: string | undefined;
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

/** Null when the caller may go on; else the refusal to send. */
export function admit(c: Caller, token: string): VeerError | null {
  if (token !== '') {
    if (!(c.route !== undefined && PUBLIC_ROUTES.has(c.route)) && !bearerMatches(c.authorization, token))
      return new UnauthorizedError();
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
  };
}

export function callerOf(request: FastifyRequest): Caller {
  return callerOfRaw(request.raw, request.routeOptions.url);
}

/** Sends the refusal (with the bearer challenge on a 401); false when the caller may go on. */
export function refuseUnlessAdmitted(request: FastifyRequest, reply: FastifyReply, token: string): boolean {
  const refusal = admit(callerOf(request), token);
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
export function installGate(app: FastifyInstance, token: () => string): void {
  app.addHook('onRequest', async (request, reply) => {
    if (refuseUnlessAdmitted(request, reply, token())) return reply;
  });
  app.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (admit(callerOfRaw(req, undefined), token()) === null) res.writeContinue();
    app.server.emit('request', req, res);
  });
  app.server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) =>
    app.server.emit('request', req, res),
  );
}
