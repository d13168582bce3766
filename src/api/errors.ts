// The one place the admin API turns failures into responses: VeerError → its status and JSON,
// fastify's own client errors → a VeerError with a clear message, anything else → a bare 500
// (logged, never echoed: stacks and internals are not for clients).
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { NotFoundError, VeerError, isVeerError } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';

export function sendError(reply: FastifyReply, e: VeerError): FastifyReply {
  return reply.code(e.httpStatus).type('application/json; charset=utf-8').send(e.toJSON());
}

export function clientError(e: FastifyError, contentType: string | undefined, bodyLimit: number): VeerError | undefined {
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new VeerError(
        'unsupported_media_type',
        415,
        contentType ? `unsupported Content-Type "${contentType}": send application/json` : 'missing Content-Type: send application/json',
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new VeerError('payload_too_large', 413, `request body is larger than ${bodyLimit} bytes`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new VeerError('invalid_request', 400, 'Content-Length does not match the request body');
    default:
      break;
  }
  const status = e.statusCode ?? 0;
  if (status >= 400 && status < 500) return new VeerError('bad_request', status, e.message);
  return undefined;
}

export function installErrorHandling(app: FastifyInstance, log: Logger, bodyLimit: number): void {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (isVeerError(error)) return sendError(reply, error);
    const mapped = clientError(error, request.headers['content-type'], bodyLimit);
    if (mapped) return sendError(reply, mapped);
    log.log('error', 'admin api: unexpected error', {
      method: request.method,
      url: request.url,
      error: error instanceof Error ? error.message : String(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
    return reply.code(500).type('application/json; charset=utf-8').send({ error: { code: 'internal', message: 'internal error' } });
  });
  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0] ?? request.url;
    return sendError(reply, new NotFoundError('route', `${request.method} ${path}`));
  });
}
