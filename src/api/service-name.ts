// A service name from a request (path or query) is only ever repeated in an answer when it is a name
// a service could have; anything else is refused without being echoed.
import type { FastifyInstance } from 'fastify';
import { NotFoundError, VeerError } from '../domain/errors.js';
import { isServiceName } from '../domain/service-name.js';
import { sendError } from './errors.js';

export function unknownService(name: string): VeerError {
  return isServiceName(name) ? new NotFoundError('service', name) : new VeerError('not_found', 404, 'no such service');
}

/** Runs after the gate: routes with a `:name` parameter never see an impossible name. */
export function installServiceNameCheck(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    const name = (request.params as { name?: unknown } | undefined)?.name;
    if (typeof name === 'string' && !isServiceName(name)) return sendError(reply, unknownService(name));
  });
}
