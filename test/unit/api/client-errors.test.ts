import { describe, expect, it } from 'vitest';
import { clientErrorOf, rawResponse } from '../../../src/api/client-errors.js';
import { frameworkError, clientError } from '../../../src/api/errors.js';
import type { FastifyError } from 'fastify';

const fastifyError = (code: string, statusCode: number, message: string): FastifyError =>
  Object.assign(new Error(message), { code, statusCode, name: 'FastifyError' }) as FastifyError;

describe('client errors on the socket', () => {
  it.each([
    ['HPE_HEADER_OVERFLOW', 431, 'headers_too_large'],
    ['ERR_HTTP_REQUEST_TIMEOUT', 408, 'request_timeout'],
    ['HPE_INVALID_METHOD', 400, 'bad_request'],
    [undefined, 400, 'bad_request'],
  ])('%s → %i %s', (code, status, ours) => {
    const e = clientErrorOf(code);
    expect([e.httpStatus, e.code]).toEqual([status, ours]);
  });

  it('writes a complete HTTP/1.1 response with our JSON and Connection: close', () => {
    const text = rawResponse(clientErrorOf('HPE_HEADER_OVERFLOW'));
    const [head, body] = text.split('\r\n\r\n');
    expect(head).toBe(
      [
        'HTTP/1.1 431 Request Header Fields Too Large',
        'content-type: application/json; charset=utf-8',
        `content-length: ${Buffer.byteLength(body ?? '')}`,
        'connection: close',
      ].join('\r\n'),
    );
    expect(JSON.parse(body ?? '')).toEqual({
      error: { code: 'headers_too_large', message: 'request headers are too large' },
    });
  });
});

describe('framework errors', () => {
  it('never repeat the path fastify put in its message', () => {
    const long = fastifyError('FST_ERR_MAX_PARAM_LENGTH', 414, "'/v1/services/aaaa' is exceeding the max param length");
    expect(frameworkError(long, 100).toJSON()).toEqual({
      error: {
        code: 'uri_too_long',
        message: 'a path segment is longer than 100 characters (service names have at most 63)',
      },
    });
    expect(
      frameworkError(fastifyError('FST_ERR_BAD_URL', 400, "'/%zz' is not a valid url component"), 100).message,
    ).not.toContain('%zz');
    expect(frameworkError(fastifyError('FST_ERR_ASYNC_CONSTRAINT', 500, 'x'), 100).httpStatus).toBe(500);
  });

  it("other 4xx keep their status but not fastify's wording", () => {
    const e = clientError(fastifyError('FST_ERR_SOMETHING', 400, 'secret /path detail'), undefined, 1024);
    expect(e?.toJSON()).toEqual({ error: { code: 'bad_request', message: 'the request could not be processed' } });
    expect(clientError(fastifyError('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415, ''), 'x'.repeat(500), 1024)?.message).toBe(
      'unsupported Content-Type (not shown: too long or not printable): send application/json',
    );
  });
});
