// The one place the admin API turns failures into responses: VeerError → its status and JSON,
// fastify's own errors → a VeerError with a message of ours, anything else → a bare 500 (logged,
// never echoed: stacks and internals are not for clients). No answer repeats the request path.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { VeerError, errorMessage, isVeerError } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';

/** Every admin error answer's content type, the raw-socket ones (client-errors.ts) included. */
export const ADMIN_JSON_TYPE = 'application/json; charset=utf-8';

export function sendError(reply: FastifyReply, e: VeerError): FastifyReply {
  return reply.code(e.httpStatus).type(ADMIN_JSON_TYPE).send(e.toJSON());
}

export const internalError = (): VeerError => new VeerError('internal', 500, 'internal error');

/** A Content-Type worth repeating: short, printable. Anything else is described, not echoed. */
function shownContentType(contentType: string): string {
  return /^[\x20-\x7e]{1,100}$/.test(contentType) ? `"${contentType}"` : '(not shown: too long or not printable)';
}

export function clientError(
  e: FastifyError,
  contentType: string | undefined,
  bodyLimit: number,
): VeerError | undefined {
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new VeerError(
        'unsupported_media_type',
        415,
        contentType
          ? `unsupported Content-Type ${shownContentType(contentType)}: send application/json`
          : 'missing Content-Type: send application/json',
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new VeerError('payload_too_large', 413, `request body is larger than ${bodyLimit} bytes`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new VeerError('invalid_request', 400, 'Content-Length does not match the request body');
    default:
      break;
  }
  // fastify's own wording can carry request data; only the status is kept.
  const status = e.statusCode ?? 0;
  if (status >= 400 && status < 500) return new VeerError('bad_request', status, 'the request could not be processed');
  return undefined;
}

/** The router's errors (frameworkErrors), answered only once the caller was admitted. */
export function frameworkError(e: FastifyError, maxParamLength: number): VeerError {
  switch (e.code) {
    case 'FST_ERR_BAD_URL':
      return new VeerError('bad_request', 400, 'the request path is not valid (malformed percent-encoding)');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new VeerError(
        'uri_too_long',
        414,
        `a path segment is longer than ${maxParamLength} characters (service names have at most 63)`,
      );
    default:
      return internalError();
  }
}

export function installErrorHandling(app: FastifyInstance, log: Logger, bodyLimit: number): void {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (isVeerError(error)) return sendError(reply, error);
    const mapped = clientError(error, request.headers['content-type'], bodyLimit);
    if (mapped) return sendError(reply, mapped);
    log.log('error', 'admin api: unexpected error', {
      method: request.method,
      url: request.url,
      error: errorMessage(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
    return sendError(reply, internalError());
  });
  const notFound = async (request: FastifyRequest, reply: FastifyReply) => {
    const allowed = allowedMethods(app, request.url);
    if (allowed.length > 0)
      return sendError(
        reply.header('allow', allowed.join(', ')),
        new VeerError('method_not_allowed', 405, `method not allowed: this path takes ${allowed.join(', ')}`),
      );
    return sendError(
      reply,
      new VeerError('not_found', 404, 'no such route (the admin API routes are /healthz, /readyz, /metrics and /v1/…)'),
    );
  };
  // Before its body is read: an unknown route or method is that, whatever the body (its size, type or JSON).
  app.addHook('onRequest', async (request, reply) => {
    if (request.is404) return notFound(request, reply);
  });
  app.setNotFoundHandler(notFound);
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** The methods a path has routes for: none when the path itself is unknown (a 404, not a 405). */
function allowedMethods(app: FastifyInstance, url: string): string[] {
  // The router's own lookup, with the concrete URL: parametric routes match as they would for a request.
  return METHODS.filter((method) => app.findRoute({ method, url }) !== null);
}
