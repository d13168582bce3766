// `POST /v1/reload`: this replica re-reads its config file. An invalid file is a 400 naming every
// field, and the running config stays.
import type { FastifyInstance } from 'fastify';
import { UnavailableError } from '../../domain/errors.js';
import { sendError } from '../errors.js';
import type { AdminDeps } from '../ports.js';

export function reloadRoutes(app: FastifyInstance, deps: AdminDeps): void {
  app.post('/v1/reload', { config: { allowEmptyBody: true } }, async (_request, reply) => {
    if (!deps.reload) return sendError(reply, new UnavailableError('this veer was started without a config file'));
    const r = await deps.reload();
    if (!r.ok) return sendError(reply, r.error);
    return r.value;
  });
}
