// The admin app. It never listens by itself: main.ts binds it, tests use `inject` or port 0.
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { UnavailableError, VeerError } from '../domain/errors.js';
import { jsonLogger, type Logger } from '../domain/log.js';
import { answerClientError } from './client-errors.js';
import { frameworkError, installErrorHandling, sendError } from './errors.js';
import { installGate, refuseUnlessAdmitted } from './gate.js';
import { charsetError, parseJsonBody } from './json-body.js';
import type { AdminDeps } from './ports.js';
import { clusterRoutes } from './routes/cluster.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { historyRoutes } from './routes/history.js';
import { maintenanceRoutes } from './routes/maintenance.js';
import { pruneRoutes } from './routes/prune.js';
import { reloadRoutes } from './routes/reload.js';
import { rolloutRoutes } from './routes/rollouts.js';
import { seriesRoutes } from './routes/series.js';
import { serviceRoutes } from './routes/services.js';
import { uiRoutes } from './routes/ui.js';
import { installServiceNameCheck } from './service-name.js';
import { Sessions } from './sessions.js';
import { UiAssets } from './ui-assets.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route treats an empty JSON body as no body (actions whose every field is optional). */
    allowEmptyBody?: boolean;
  }
}

export const ADMIN_BODY_LIMIT = 64 * 1024;
/** Longest path parameter the router accepts (a service name has at most 63 characters). */
export const MAX_PARAM_LENGTH = 100;

export interface BuildAppOptions {
  logger?: Logger;
  /** Interval of the `: keepalive` comment on event streams (15 s). */
  sseKeepaliveMs?: number;
  /** The dashboard sessions' clock (tests). */
  now?: () => number;
}

/** A dashboard login lasts this long unless admin.ui.sessionTtl says otherwise. */
export const DEFAULT_SESSION_TTL_MS = 12 * 3600_000;

export function buildApp(deps: AdminDeps, opts: BuildAppOptions = {}): FastifyInstance {
  const log = opts.logger ?? jsonLogger();
  // A function: a reload changes the token for the next request.
  const { token: t } = deps;
  const token = typeof t === 'function' ? t : () => t;
  const sessions = new Sessions({
    ttlMs: deps.ui?.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS,
    ...(opts.now ? { now: opts.now } : {}),
  });
  const app = Fastify({
    logger: false,
    bodyLimit: ADMIN_BODY_LIMIT,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Every answer fastify or Node would write on their own is replaced by one of ours: the gate
    // answers a missing Host, installShutdownAnswer the requests that arrive while closing.
    http: { requireHostHeader: false },
    return503OnClosing: false,
    clientErrorHandler: answerClientError,
    // Router errors skip the hooks, so the gate runs here too: a caller without the token learns
    // nothing, not even that its URL was malformed.
    frameworkErrors: (error, request, reply) => {
      if (refuseUnlessAdmitted(request, reply, token(), sessions)) return;
      const e = frameworkError(error, MAX_PARAM_LENGTH);
      if (e.httpStatus >= 500) log.log('error', 'admin api: router error', { code: error.code });
      sendError(reply, e);
    },
  });
  installGate(app, token, sessions);
  installShutdownAnswer(app, deps.stopping);
  installServiceNameCheck(app);
  installErrorHandling(app, log, ADMIN_BODY_LIMIT);
  installEncodingCheck(app);
  installJsonParser(app);
  healthRoutes(app, deps);
  serviceRoutes(app, deps);
  clusterRoutes(app, deps);
  rolloutRoutes(app, deps);
  historyRoutes(app, deps);
  pruneRoutes(app, deps);
  reloadRoutes(app, deps);
  maintenanceRoutes(app, deps);
  eventRoutes(app, deps, { keepaliveMs: opts.sseKeepaliveMs });
  seriesRoutes(app, deps, { keepaliveMs: opts.sseKeepaliveMs });
  uiRoutes(app, deps, { sessions, assets: new UiAssets(), token });
  return app;
}

/**
 * Requests that arrive on a kept-alive connection while the app closes get a 503 of ours, and the connection
 * ends; while veer stops (its data plane drains first), so do changes (anything but GET and HEAD).
 */
function installShutdownAnswer(app: FastifyInstance, stopping?: () => boolean): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (request, reply) => {
    const change = request.method !== 'GET' && request.method !== 'HEAD';
    if (!closing && !(change && stopping?.() === true)) return;
    if (closing) reply.header('connection', 'close');
    return sendError(
      reply,
      new UnavailableError('veer is shutting down: retry on another replica or after the restart'),
    );
  });
}

/**
 * Only JSON bodies are accepted (anything else is a 415), and a syntax error is reported as a
 * plain 400 message instead of fastify's default error object.
 */
function installJsonParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    const charset = charsetError(request.headers['content-type']);
    if (charset) {
      done(charset, undefined);
      return;
    }
    if (text.trim() === '' && request.routeOptions.config?.allowEmptyBody === true) {
      done(null, undefined);
      return;
    }
    if (text.trim() === '') {
      done(new VeerError('invalid_json', 400, 'request body is empty: send a JSON object'), undefined);
      return;
    }
    const parsed = parseJsonBody(text);
    if (parsed.ok) done(null, parsed.value);
    else done(parsed.error, undefined);
  });
}

const hasBody = (h: FastifyRequest['headers']): boolean =>
  h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');

/**
 * Bodies are parsed as they arrive, never decoded: a compressed one would be read as garbage, or a
 * plain one under a coding it does not have be accepted as if it were decoded. Either is refused.
 */
function installEncodingCheck(app: FastifyInstance): void {
  app.addHook('preParsing', async (request, reply) => {
    const coding = request.headers['content-encoding'];
    if (request.is404 || coding === undefined || !hasBody(request.headers)) return;
    const codings = coding.split(',').map((c) => c.trim().toLowerCase());
    if (codings.every((c) => c === '' || c === 'identity')) return;
    reply.header('accept-encoding', 'identity');
    throw new VeerError(
      'unsupported_media_type',
      415,
      'Content-Encoding is not supported on request bodies: send the JSON body uncompressed',
    );
  });
}
