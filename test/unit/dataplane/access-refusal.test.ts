// The access line of a request refused before it was read whole: what of its head is known, and the line.
import { describe, expect, it } from 'vitest';
import { accessRecord } from '../../../src/dataplane/access-line.js';
import {
  clientErrorRefusal,
  headOfPacket,
  refusalLine,
  refusedRequest,
  seenOf,
} from '../../../src/dataplane/access-refusal.js';

describe('refused requests', () => {
  it('reads the request line and Host at the start of the refused bytes, nothing else', () => {
    const packet = Buffer.from('POST /a?b=1 HTTP/1.1\r\nX: 1\r\nHOST:  shop.test \r\n X: fold\r\n\r\nhost: body');
    expect(headOfPacket(packet)).toEqual({ method: 'POST', path: '/a?b=1', host: 'shop.test' });
    expect(headOfPacket(Buffer.from('GET / HTTP/1.1\r\n\r\nHost: in-body'))).toEqual({ method: 'GET', path: '/' });
    expect([headOfPacket(Buffer.from('garbage\r\n')), headOfPacket(undefined), headOfPacket('GET')]).toEqual([
      {},
      {},
      {},
    ]);
    // A Host line of spaces only, far longer than any head: read in linear time.
    const spaces = Buffer.from(`GET / HTTP/1.1\r\nHost:${' '.repeat(100_000)}x`);
    expect(headOfPacket(spaces).host).toBe('');
  });

  it("names Node's parser refusals by their error code", () => {
    const codes = ['HPE_HEADER_OVERFLOW', 'ERR_HTTP_REQUEST_TIMEOUT', 'HPE_INVALID_HEADER_TOKEN', undefined];
    expect(codes.map(clientErrorRefusal)).toEqual([
      'headers_too_large',
      'request_timeout',
      'bad_request',
      'bad_request',
    ]);
  });

  it('writes the fields of every access line, in their order, with what is known', () => {
    const at = Date.UTC(2026, 11, 6, 3, 0, 0, 5);
    const seen = seenOf({ method: 'POST', url: '/up', headers: { host: 'a.test' } });
    const line = refusalLine(refusedRequest('expectation_failed', '::ffff:10.0.0.9', seen), at);
    expect(line.endsWith('}\n')).toBe(true);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(parsed).toMatchObject({
      kind: 'access',
      time: '2026-12-06T03:00:00.005Z',
      requestId: null,
      client: '10.0.0.9',
      method: 'POST',
      host: 'a.test',
      path: '/up',
      status: 417,
      error: 'expectation_failed',
      service: null,
      attempts: 0,
    });
    const entry = { req: { headers: {} }, route: null, exchange: null, startedAt: at, startHr: 0, bytesOut: 0 };
    const keys = Object.keys(accessRecord(entry as never, 0, 200, null));
    expect(Object.keys(parsed)).toEqual(keys);
    expect(JSON.parse(refusalLine(refusedRequest('bad_request', undefined), at))).toMatchObject({
      client: 'unknown',
      method: null,
      host: null,
      path: null,
      status: 400,
    });
  });
});
