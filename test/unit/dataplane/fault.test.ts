import { describe, expect, it } from 'vitest';
import { classify, FAILURE_ANSWER, failureStep } from '../../../src/dataplane/fault.js';

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

describe('failureStep', () => {
  const facts = {
    code: 'ECONNRESET',
    clientsDoing: false,
    refusedNow: false,
    gotHeaders: false,
    targetCut: false,
    bodyIncomplete: false,
  };

  it("counts the upstream's failures against the pool, by kind", () => {
    expect(failureStep(facts)).toEqual({ step: 'counted', kind: 'connect' });
    expect(failureStep({ ...facts, gotHeaders: true })).toEqual({ step: 'counted', kind: 'broken' });
    expect(failureStep({ ...facts, code: 'UND_ERR_HEADERS_TIMEOUT' })).toEqual({ step: 'counted', kind: 'timeout' });
  });

  it("never counts the client's doing, a refused dispatch or veer's own drain", () => {
    expect(failureStep({ ...facts, clientsDoing: true, targetCut: true })).toEqual({ step: 'ignore' });
    expect(failureStep({ ...facts, refusedNow: true, code: 'UND_ERR_CLOSED' })).toEqual({ step: 'wait' });
    expect(failureStep({ ...facts, refusedNow: true })).toEqual({ step: 'bad_request' });
    expect(failureStep({ ...facts, code: 'UND_ERR_INVALID_ARG' })).toEqual({ step: 'bad_request' });
    expect(failureStep({ ...facts, targetCut: true })).toEqual({ step: 'drain_cut' });
  });

  it('blames a header timeout on the client while its body was still coming', () => {
    const timeout = { ...facts, code: 'UND_ERR_HEADERS_TIMEOUT', bodyIncomplete: true };
    expect(failureStep(timeout)).toEqual({ step: 'body_timeout' });
    // Once the headers came, a stalled answer is the upstream's.
    expect(failureStep({ ...timeout, code: 'UND_ERR_BODY_TIMEOUT', gotHeaders: true })).toEqual({
      step: 'counted',
      kind: 'timeout',
    });
  });
});
