// Service status and manual traffic shifts.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { percentToBp } from '../../domain/weight.js';
import { sendError } from '../errors.js';
import type { AdminDeps } from '../ports.js';
import { unknownService } from '../service-name.js';
import { parseBody } from '../validate.js';

const weightPercent = z
  .unknown()
  .refine((v) => v !== undefined, { message: 'required (expected a number from 0 to 100)', abort: true })
  .transform((v, ctx) => {
    const r = percentToBp(v);
    if (!r.ok) {
      ctx.addIssue({ code: 'custom', message: r.message });
      return z.NEVER;
    }
    return r.bp;
  });

export const shiftBody = z.object({ weight: weightPercent }).strict();

interface NameParams {
  name: string;
}

export function serviceRoutes(app: FastifyInstance, deps: AdminDeps): void {
  // The contract gives both routes the same element shape: the list is a bare array of them.
  app.get('/v1/services', async () => deps.services.list());

  app.get<{ Params: NameParams }>('/v1/services/:name', async (request, reply) => {
    const status = deps.services.get(request.params.name);
    if (!status) return sendError(reply, unknownService(request.params.name));
    return status;
  });

  app.post<{ Params: NameParams }>('/v1/services/:name/shift', async (request, reply) => {
    const body = parseBody(shiftBody, request.body);
    if (!body.ok) return sendError(reply, body.error);
    const r = await deps.services.shift(request.params.name, body.value.weight);
    if (!r.ok) return sendError(reply, r.error);
    return r.value;
  });
}
