// The admin app. It never listens by itself: main.ts binds it, tests use `inject` or port 0.
import Fastify, { type FastifyInstance } from 'fastify';
import { VeerError } from '../domain/errors.js';
import { jsonLogger, type Logger } from '../domain/log.js';
import { registerAuth } from './auth.js';
import { installErrorHandling } from './errors.js';
import type { AdminDeps } from './ports.js';
import { clusterRoutes } from './routes/cluster.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { pruneRoutes } from './routes/prune.js';
import { rolloutRoutes } from './routes/rollouts.js';
import { serviceRoutes } from './routes/services.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route treats an empty JSON body as no body (actions whose every field is optional). */
    allowEmptyBody?: boolean;
  }
}

export const ADMIN_BODY_LIMIT = 64 * 1024;

export interface BuildAppOptions {
  logger?: Logger;
  /** Interval of the `: keepalive` comment on event streams (15 s). */
  sseKeepaliveMs?: number;
}

export function buildApp(deps: AdminDeps, opts: BuildAppOptions = {}): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: ADMIN_BODY_LIMIT, return503OnClosing: true });
  installErrorHandling(app, opts.logger ?? jsonLogger(), ADMIN_BODY_LIMIT);
  installJsonParser(app);
  registerAuth(app, deps.token);
  healthRoutes(app, deps);
  serviceRoutes(app, deps);
  clusterRoutes(app, deps);
  rolloutRoutes(app, deps);
  pruneRoutes(app, deps);
  eventRoutes(app, deps, { keepaliveMs: opts.sseKeepaliveMs });
  return app;
}

/**
 * Only JSON bodies are accepted (anything else is a 415), and a syntax error is reported as a
 * plain 400 message instead of fastify's default error object.
 */
function installJsonParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '' && request.routeOptions.config?.allowEmptyBody === true) {
      done(null, undefined);
      return;
    }
    if (text.trim() === '') {
      done(new VeerError('invalid_json', 400, 'request body is empty: send a JSON object'), undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      done(new VeerError('invalid_json', 400, `request body is not valid JSON: ${detail}`), undefined);
    }
  });
}
