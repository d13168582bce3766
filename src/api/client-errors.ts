// Malformed HTTP on the admin socket never becomes a request, so no hook or handler sees it: the
// answer is written to the socket here, as the same short JSON every other admin error uses, and
// the connection is closed (the parser cannot resynchronise after garbage).
import type { Socket } from 'node:net';
import { errorBody, rawErrorResponse } from '../domain/error-body.js';
import { VeerError } from '../domain/errors.js';
import { ADMIN_JSON_TYPE } from './errors.js';

/** How long a peer gets to read the answer and close before the socket is destroyed. */
const LINGER_MS = 2_000;

export function clientErrorOf(code: string | undefined): VeerError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new VeerError('headers_too_large', 431, 'request headers are too large');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return new VeerError('request_timeout', 408, 'the request was not received in time');
    default:
      return new VeerError('bad_request', 400, 'malformed HTTP request');
  }
}

export function rawResponse(e: VeerError): string {
  return rawErrorResponse(e.httpStatus, errorBody(e.code, e.message, e.problems), ADMIN_JSON_TYPE);
}

/** A response already under way on this socket must not be corrupted by a second one. */
function responseStarted(socket: Socket): boolean {
  const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  return current?.headersSent === true;
}

/** fastify's clientErrorHandler. */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (!socket.writable || responseStarted(socket)) {
    socket.destroy();
    return;
  }
  // end() rather than destroy(): a reset could make the peer drop the answer unread.
  socket.end(rawResponse(clientErrorOf(error.code)));
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}
