import { describe, expect, it } from 'vitest';
import { classify, FAILURE_ANSWER } from '../../../src/dataplane/fault.js';

describe('classify', () => {
  it('tells a failed connect, a timeout and an answer that broke off apart', () => {
    expect(classify('ECONNREFUSED', false)).toBe('connect');
    expect(classify('UND_ERR_SOCKET', false)).toBe('connect');
    expect(classify('UND_ERR_HEADERS_TIMEOUT', false)).toBe('timeout');
    expect(classify('UND_ERR_BODY_TIMEOUT', true)).toBe('timeout');
    // The same socket error after the response headers is the answer breaking off, not a connect.
    expect(classify('UND_ERR_SOCKET', true)).toBe('broken');
    expect(classify('ECONNRESET', true)).toBe('broken');
    expect(classify('HPE_INVALID_CONSTANT', false)).toBe('broken');
  });

  it('answers each kind with its own code', () => {
    expect(FAILURE_ANSWER).toEqual({
      connect: 'upstream_unreachable',
      timeout: 'upstream_timeout',
      broken: 'bad_gateway',
    });
  });
});
