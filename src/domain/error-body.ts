// The one wire shape of every error veer answers by itself, on the data plane and the admin API
// alike: `{"error":{"code","message"}}` (plus the problems of an invalid request), and, where no
// ServerResponse exists (an upgrade, what the parser refused), the whole HTTP/1.1 answer around it.
// Kept pure and in one place so the two listeners can never drift apart on it.
import { STATUS_CODES } from 'node:http';
import type { Problem } from './errors.js';

/** The data plane's content type; the admin API adds a charset, as fastify does for its answers. */
export const JSON_TYPE = 'application/json';

export interface ErrorJson {
  error: { code: string; message: string; problems?: readonly Problem[] };
}

export function errorJson(code: string, message: string, problems: readonly Problem[] = []): ErrorJson {
  return { error: { code, message, ...(problems.length > 0 ? { problems } : {}) } };
}

export function errorBody(code: string, message: string, problems?: readonly Problem[]): string {
  return JSON.stringify(errorJson(code, message, problems));
}

/**
 * A complete answer for a raw socket. It always says `connection: close`: whoever writes it is
 * about to end a connection whose framing can no longer be trusted.
 */
export function rawErrorResponse(
  status: number,
  body: string,
  contentType: string = JSON_TYPE,
  fields: ReadonlyArray<readonly [name: string, value: string]> = [],
): string {
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    `content-type: ${contentType}`,
    `content-length: ${Buffer.byteLength(body)}`,
    ...fields.map(([name, value]) => `${name}: ${value}`),
    'connection: close',
    '',
    body,
  ].join('\r\n');
}
