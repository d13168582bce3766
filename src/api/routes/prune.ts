// `POST /v1/prune {"dryRun": true}`: list (dry run) or remove this installation's orphaned containers.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { UnavailableError } from '../../domain/errors.js';
import { sendError } from '../errors.js';
import type { AdminDeps } from '../ports.js';
import { parseBody } from '../validate.js';

// Removing is never the default of an empty POST: say {"dryRun": false} to remove.
const pruneBody = z.object({ dryRun: z.boolean({ error: 'expected true (list only) or false (remove)' }) }).strict();

export function pruneRoutes(app: FastifyInstance, deps: AdminDeps): void {
  app.post('/v1/prune', async (request, reply) => {
    const body = parseBody(pruneBody, request.body);
    if (!body.ok) return sendError(reply, body.error);
    if (!deps.prune)
      return sendError(reply, new UnavailableError('garbage collection needs Docker, which this veer does not use'));
    const r = await deps.prune(body.value.dryRun);
    if (!r.ok) return sendError(reply, r.error);
    return r.value;
  });
}
