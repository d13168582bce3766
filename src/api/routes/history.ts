// A service's rollout history, and the two rollouts started from it: undo (back to the generation
// before the newest promoted rollout) and retry (the latest rolled-back or aborted rollout again).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { UnavailableError } from '../../domain/errors.js';
import { sendError } from '../errors.js';
import type { AdminDeps, RolloutHistoryControl } from '../ports.js';
import { parseBody } from '../validate.js';
import { intParam, type Query } from './events.js';
import { resolvePolicy } from './rollouts.js';

export const DEFAULT_HISTORY_LIMIT = 20;
const MAX_HISTORY_LIMIT = 100;

interface NameParams {
  name: string;
}

const NO_HISTORY = new UnavailableError('rollout history is not available on this server');

export function historyRoutes(app: FastifyInstance, deps: AdminDeps): void {
  app.get<{ Params: NameParams; Querystring: Query }>('/v1/services/:name/rollouts', async (request, reply) => {
    if (!deps.history) return sendError(reply, NO_HISTORY);
    const limit = intParam(request.query, 'limit', DEFAULT_HISTORY_LIMIT, 1, MAX_HISTORY_LIMIT);
    if (!limit.ok) return sendError(reply, limit.error);
    const r = await deps.history.history(request.params.name, limit.value);
    if (!r.ok) return sendError(reply, r.error);
    return { rollouts: r.value };
  });

  for (const kind of ['undo', 'retry'] as const) {
    // No body, like the other actions: `curl -X POST …/rollout/undo` must just work.
    app.post<{ Params: NameParams }>(
      `/v1/services/:name/rollout/${kind}`,
      { config: { allowEmptyBody: true } },
      async (request, reply) => {
        const body = parseBody(z.object({}).strict(), request.body ?? {});
        if (!body.ok) return sendError(reply, body.error);
        const history: RolloutHistoryControl | undefined = deps.history;
        if (!history) return sendError(reply, NO_HISTORY);
        const name = request.params.name;
        const resolve = (overrides: Record<string, unknown>) => resolvePolicy(deps, name, overrides);
        const r = kind === 'undo' ? await history.undo(name, resolve) : await history.retry(name, resolve);
        if (!r.ok) return sendError(reply, r.error);
        return reply.code(201).send(r.value);
      },
    );
  }
}
