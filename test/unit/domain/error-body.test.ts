import { describe, expect, it } from 'vitest';
import { errorBody, rawErrorResponse } from '../../../src/domain/error-body.js';
import { VeerError } from '../../../src/domain/errors.js';

describe('errorBody', () => {
  it('is {"error":{"code","message"}}, with problems only when there are some', () => {
    expect(errorBody('no_route', 'nothing here')).toBe('{"error":{"code":"no_route","message":"nothing here"}}');
    expect(JSON.parse(errorBody('invalid_request', 'bad', [{ path: 'weight', message: 'too big' }]))).toEqual({
      error: { code: 'invalid_request', message: 'bad', problems: [{ path: 'weight', message: 'too big' }] },
    });
  });

  it('is what a VeerError serialises to', () => {
    const e = new VeerError('conflict', 409, 'busy', [{ path: '', message: 'x' }]);
    expect(JSON.stringify(e)).toBe(errorBody(e.code, e.message, e.problems));
  });
});

describe('rawErrorResponse', () => {
  it('is a complete HTTP/1.1 answer that closes the connection, with an exact length', () => {
    const body = errorBody('bad_request', 'é');
    const [head, rest] = rawErrorResponse(400, body).split('\r\n\r\n');
    expect(head).toBe(
      [
        'HTTP/1.1 400 Bad Request',
        'content-type: application/json',
        `content-length: ${Buffer.byteLength(body)}`,
        'connection: close',
      ].join('\r\n'),
    );
    expect(rest).toBe(body);
  });

  it('takes another content type, and leaves the reason empty for a status without one', () => {
    const text = rawErrorResponse(599, '{}', 'application/json; charset=utf-8');
    expect(text.startsWith('HTTP/1.1 599 \r\ncontent-type: application/json; charset=utf-8\r\n')).toBe(true);
  });
});
