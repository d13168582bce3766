// The web dashboard: its page and assets (no credentials needed: they hold no data), and its login.
// A login turns the admin token, entered once, into an HttpOnly, SameSite=Strict session cookie; the
// page reads the session's CSRF token from /ui/session and sends it with every state-changing call.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ConflictError, VeerError } from '../../domain/errors.js';
import { tokenMatches } from '../auth.js';
import { sendError } from '../errors.js';
import type { AdminDeps } from '../ports.js';
import { cookieValue, SESSION_COOKIE, sessionCookie, type Sessions } from '../sessions.js';
import type { Asset, UiAssets } from '../ui-assets.js';
import { parseBody } from '../validate.js';

/** No inline script or style, nothing from elsewhere: everything the page runs is veer's own file. */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const loginBody = z.object({ token: z.string().min(1, 'enter the admin token').max(4096) }).strict();

export interface UiRouteParts {
  sessions: Sessions;
  assets: UiAssets;
  token: () => string;
}

function secure(request: FastifyRequest, deps: AdminDeps): boolean {
  const mode = deps.ui?.secureCookie ?? 'auto';
  return mode === 'always' || (mode === 'auto' && request.protocol === 'https');
}

function send(reply: FastifyReply, request: FastifyRequest, asset: Asset, cache: string): FastifyReply {
  reply
    .header('content-security-policy', UI_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', cache)
    .header('etag', asset.etag)
    .type(asset.type);
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  return reply.send(asset.body);
}

export function uiRoutes(app: FastifyInstance, deps: AdminDeps, parts: UiRouteParts): void {
  const { sessions, assets, token } = parts;
  // The page is revalidated on every load; assets are named by their digest in it, so they can be kept.
  app.get('/ui', async (request, reply) => send(reply, request, assets.page(), 'no-cache'));
  app.get<{ Params: { file: string } }>('/ui/assets/:file', async (request, reply) => {
    const asset = assets.asset(request.params.file);
    if (!asset) return sendError(reply, new VeerError('not_found', 404, 'no such dashboard file'));
    return send(reply, request, asset, 'public, max-age=86400');
  });

  app.get('/ui/session', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    if (token() === '') return { auth: 'none', loggedIn: true, csrf: null, expiresAt: null };
    const s = sessions.find(cookieValue(request.headers.cookie, SESSION_COOKIE), token());
    if (!s) return { auth: 'token', loggedIn: false, csrf: null, expiresAt: null };
    return { auth: 'token', loggedIn: true, csrf: s.csrf, expiresAt: new Date(s.expiresAt).toISOString() };
  });

  app.post('/ui/login', async (request, reply) => {
    const body = parseBody(loginBody, request.body);
    if (!body.ok) return sendError(reply, body.error);
    const current = token();
    if (current === '') return sendError(reply, new ConflictError('the admin API has no token: no login is needed'));
    if (!tokenMatches(body.value.token, current))
      return sendError(reply, new VeerError('wrong_token', 401, 'wrong admin token: enter the token of admin.token'));
    const { id, session } = sessions.open(current);
    reply.header('set-cookie', sessionCookie(id, sessions.ttlMs, secure(request, deps)));
    reply.header('cache-control', 'no-store');
    return { csrf: session.csrf, expiresAt: new Date(session.expiresAt).toISOString() };
  });

  // Behind the gate: a cookie caller needs the CSRF header, so no other site can log anyone out.
  app.post('/ui/logout', { config: { allowEmptyBody: true } }, async (request, reply) => {
    sessions.close(cookieValue(request.headers.cookie, SESSION_COOKIE));
    reply.header('set-cookie', sessionCookie('', 0, secure(request, deps)));
    return { loggedIn: false };
  });
}
