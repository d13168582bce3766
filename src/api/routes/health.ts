// Probe and scrape endpoints: /healthz says the process answers; /readyz says it should get traffic.
import type { FastifyInstance } from 'fastify';
import type { AdminDeps } from '../ports.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function healthRoutes(app: FastifyInstance, deps: AdminDeps): void {
  app.get('/healthz', async () => ({ status: 'ok', version: deps.version }));

  app.get('/readyz', async (_request, reply) => {
    const state = deps.readiness();
    // Degraded (e.g. the shared store is down) still serves traffic, so it stays 200: a balancer
    // must not pull every replica out because Redis is unreachable.
    const status = !state.ready ? 'failing' : Object.values(state.checks).includes('degraded') ? 'degraded' : 'ok';
    return reply.code(state.ready ? 200 : 503).send({ ready: state.ready, status, checks: state.checks });
  });

  app.get('/metrics', async (_request, reply) => reply.type(PROMETHEUS_CONTENT_TYPE).send(deps.metricsText()));
}
