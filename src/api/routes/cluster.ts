// Which replicas are alive and which one drives rollouts; this replica's data-plane processes.
import type { FastifyInstance } from 'fastify';
import type { AdminDeps, WorkersView } from '../ports.js';

export function clusterRoutes(app: FastifyInstance, deps: AdminDeps): void {
  app.get('/v1/cluster', async () => deps.cluster());
  app.get(
    '/v1/workers',
    async (): Promise<WorkersView> =>
      deps.workers?.() ?? {
        count: 1,
        primary: { pid: process.pid },
        snapshot: { version: 0, lagMs: null },
        restarts: 0,
        workers: [],
      },
  );
}
