// `GET|POST /v1/services/:name/maintenance`: the service's maintenance switch, shared by every
// replica. Named apart from the rollout's pause/resume, which hold a rollout, not the traffic.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { retryAfterValue } from '../../config/page-schema.js';
import { kindOf } from '../../config/problems.js';
import { UnavailableError } from '../../domain/errors.js';
import { sendError } from '../errors.js';
import type { AdminDeps } from '../ports.js';
import { parseBody } from '../validate.js';

const maintenanceBody = z
  .object({
    on: z.boolean({
      error: (i) =>
        i.input === undefined
          ? 'required: true (maintenance on) or false (off)'
          : `expected true (maintenance on) or false (off), got ${kindOf(i.input)}`,
    }),
    mode: z.enum(['hold', 'page'], { error: 'expected "hold" (requests wait) or "page" (503 page)' }).default('hold'),
    retryAfter: retryAfterValue.optional(),
  })
  .strict();

interface NameParams {
  name: string;
}

const absent = () => new UnavailableError('maintenance is not available on this veer');

export function maintenanceRoutes(app: FastifyInstance, deps: AdminDeps): void {
  app.get<{ Params: NameParams }>('/v1/services/:name/maintenance', async (request, reply) => {
    if (!deps.maintenance) return sendError(reply, absent());
    const r = deps.maintenance.get(request.params.name);
    return r.ok ? r.value : sendError(reply, r.error);
  });
  app.post<{ Params: NameParams }>('/v1/services/:name/maintenance', async (request, reply) => {
    if (!deps.maintenance) return sendError(reply, absent());
    const body = parseBody(maintenanceBody, request.body);
    if (!body.ok) return sendError(reply, body.error);
    const { on, mode, retryAfter } = body.value;
    const r = await deps.maintenance.set(request.params.name, { on, mode, retryAfterMs: retryAfter ?? null });
    return r.ok ? r.value : sendError(reply, r.error);
  });
}
