// Which replicas are alive and which one drives rollouts.
import type { FastifyInstance } from 'fastify';
import type { AdminDeps } from '../ports.js';

export function clusterRoutes(app: FastifyInstance, deps: AdminDeps): void {
  app.get('/v1/cluster', async () => deps.cluster());
}
