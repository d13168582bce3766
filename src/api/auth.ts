// Bearer-token auth for the admin API, and the refusal to expose an unauthenticated admin API
// beyond loopback (anyone who reaches it can move production traffic).
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ConfigError, UnauthorizedError, err, ok, type Result } from '../domain/errors.js';
import { sendError } from './errors.js';

/** Route patterns that probes (load balancers, orchestrators) reach without credentials. */
const PUBLIC_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Hashing first makes both buffers 32 bytes, so neither the comparison time nor a length check leaks the token's length. */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  if (authorization === undefined) return false;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  if (!m) return false;
  return timingSafeEqual(digest(m[1] as string), digest(token));
}

export function registerAuth(app: FastifyInstance, token: string): void {
  if (token === '') return;
  app.addHook('onRequest', async (request, reply) => {
    // Unmatched routes have no pattern and stay protected, so route names don't leak either.
    const route = request.routeOptions.url;
    if (route !== undefined && PUBLIC_ROUTES.has(route)) return;
    if (bearerMatches(request.headers.authorization, token)) return;
    reply.header('www-authenticate', 'Bearer realm="veer"');
    return sendError(reply, new UnauthorizedError());
  });
}

export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  return isIP(v4) === 4 && v4.split('.')[0] === '127';
}

export function checkAdminExposure(listenHost: string, token: string): Result<void> {
  if (token !== '' || isLoopbackHost(listenHost)) return ok(undefined);
  const shown = listenHost === '' ? '(all interfaces)' : listenHost;
  return err(
    new ConfigError(
      `admin API listens on ${shown}, beyond loopback, without a token: set admin.token (e.g. token: \${VEER_ADMIN_TOKEN}) or listen on 127.0.0.1`,
      [{ path: 'admin.token', message: `required when admin.listen is not a loopback address (got host "${shown}"): set a token or listen on 127.0.0.1` }],
    ),
  );
}
