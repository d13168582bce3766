// The pure parts of gRPC through veer: status names and numbers, which statuses fail a call, the
// HTTP→gRPC mapping for veer's own answers, grpc-timeout, the content types that make a request a
// gRPC call, what the pool's window records for a call, trailers as Node takes them, and the h2c preface.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  callerDeadlineAnswer,
  DEFAULT_GRPC_ERROR_CODES,
  errorMask,
  grpcCodeForHttp,
  grpcFailed,
  grpcTimeoutMs,
  isGrpcContentType,
  parseGrpcCode,
} from '../../../src/domain/grpc-status.js';
import { GrpcCall } from '../../../src/dataplane/grpc-call.js';
import { isH2Preface } from '../../../src/dataplane/preface-sniff.js';
import { trailerFields } from '../../../src/dataplane/trailers-only.js';

const defaults = errorMask(DEFAULT_GRPC_ERROR_CODES.map((n) => parseGrpcCode(n) as number));
const raw = (...pairs: string[]): Buffer[] => pairs.map((p) => Buffer.from(p));

describe('gRPC status', () => {
  it('parses names in any case and numbers 0-16, nothing else', () => {
    expect([parseGrpcCode('UNAVAILABLE'), parseGrpcCode('deadline_exceeded'), parseGrpcCode(13)]).toEqual([14, 4, 13]);
    expect([parseGrpcCode('NOPE'), parseGrpcCode(17), parseGrpcCode(-1), parseGrpcCode(1.5)]).toEqual([
      null,
      null,
      null,
      null,
    ]);
  });

  it('fails UNAVAILABLE, INTERNAL, UNKNOWN, DEADLINE_EXCEEDED by default; an undefined status is UNKNOWN', () => {
    const failed = Array.from({ length: 17 }, (_, c) => c).filter((c) => grpcFailed(String(c), defaults));
    expect(failed).toEqual([2, 4, 13, 14]);
    expect([grpcFailed('99', defaults), grpcFailed('x', defaults), grpcFailed('', defaults)]).toEqual([
      true,
      true,
      true,
    ]);
    expect(grpcFailed('14', errorMask([13]))).toBe(false);
  });

  it("maps veer's HTTP answers to the gRPC codes of the spec's mapping", () => {
    const codes = [400, 401, 403, 404, 429, 502, 503, 504, 408, 413].map(grpcCodeForHttp);
    expect(codes).toEqual([13, 16, 7, 12, 14, 14, 14, 14, 2, 2]);
  });

  it('reads grpc-timeout in every unit, and refuses malformed ones', () => {
    expect(['1H', '2M', '3S', '250m', '1500u', '2000000n'].map(grpcTimeoutMs)).toEqual([
      3_600_000, 120_000, 3000, 250, 2, 2,
    ]);
    expect(['', '5', 'S', '123456789S', '1s', '1.5S', undefined].map(grpcTimeoutMs)).toEqual(Array(7).fill(null));
  });

  it("takes DEADLINE_EXCEEDED or CANCELLED for the caller's own once its deadline had passed, and only then", () => {
    expect([
      callerDeadlineAnswer('4', 1, 1),
      callerDeadlineAnswer('1', 100, 250),
      callerDeadlineAnswer('04', 5, 9),
    ]).toEqual([true, true, true]);
    // Deadlines are whole milliseconds: within one of the caller's, the answer is taken for it.
    expect([callerDeadlineAnswer('4', 1000, 999.2), callerDeadlineAnswer('4', 1, 0.5)]).toEqual([true, true]);
    // Before the caller's deadline: the server's own deadline or cancel, the pool's.
    expect([callerDeadlineAnswer('4', 1000, 998.9), callerDeadlineAnswer('1', 50, 10)]).toEqual([false, false]);
    // No deadline of the caller's, or another status: never the caller's.
    expect([
      callerDeadlineAnswer('4', null, 1e9),
      callerDeadlineAnswer('14', 1, 10),
      callerDeadlineAnswer('x', 1, 10),
    ]).toEqual([false, false, false]);
  });

  it('knows a gRPC content type from a look-alike', () => {
    const yes = ['application/grpc', 'application/grpc+proto', 'application/grpc+json', 'application/grpc;x=1'];
    const no = ['application/grpc-web', 'application/grpc-web+proto', 'application/json', undefined];
    expect(yes.map(isGrpcContentType)).toEqual([true, true, true, true]);
    expect(no.map(isGrpcContentType)).toEqual([false, false, false, false]);
  });
});

describe('GrpcCall', () => {
  const route = { errorMask: defaults };
  const call = (headers: Record<string, string> = {}) =>
    GrpcCall.of(route, { 'content-type': 'application/grpc', ...headers }) as GrpcCall;

  it('is made only for a gRPC request to an h2c service', () => {
    expect(GrpcCall.of(null, { 'content-type': 'application/grpc' })).toBeNull();
    expect(GrpcCall.of(route, { 'content-type': 'application/json' })).toBeNull();
    expect(call()).toBeInstanceOf(GrpcCall);
  });

  it("never lets veer's idle bounds undercut the call's deadline", () => {
    expect(call().bound(30_000)).toBe(30_000);
    expect(call({ 'grpc-timeout': '100S' }).bound(30_000)).toBe(101_000);
    expect(call({ 'grpc-timeout': '10m' }).bound(30_000)).toBe(30_000);
  });

  it("widens veer's idle bounds for a deadline up to 5 minutes only, however long the client's", () => {
    expect(call({ 'grpc-timeout': '99999999H' }).bound(30_000)).toBe(301_000);
    expect(call({ 'grpc-timeout': '10M' }).bound(30_000)).toBe(301_000);
    expect(call({ 'grpc-timeout': '99999999H' }).bound(600_000)).toBe(600_000);
  });

  describe("the caller's own deadline", () => {
    afterEach(() => void vi.useRealTimers());
    const withCancelled = { errorMask: errorMask([1, 4, 14]) }; // an operator who counts CANCELLED too
    const ended = (timeout: string, status: string, afterMs: number): number => {
      vi.useFakeTimers({ toFake: ['performance'] });
      const headers = { 'content-type': 'application/grpc', 'grpc-timeout': timeout };
      const c = GrpcCall.of(withCancelled, headers) as GrpcCall;
      vi.advanceTimersByTime(afterMs);
      c.ended({ 'grpc-status': status });
      return c.judged(200);
    };

    it('is never an error of the pool once it has passed (recorded as 499, the caller gave up)', () => {
      expect([ended('1m', '4', 1), ended('20m', '4', 35), ended('1m', '1', 2)]).toEqual([499, 499, 499]);
    });

    it("is the pool's error when the upstream says DEADLINE_EXCEEDED before it passed", () => {
      expect([ended('10S', '4', 20), ended('1S', '4', 998)]).toEqual([500, 500]);
      expect(ended('1m', '14', 50)).toBe(500); // UNAVAILABLE is the upstream's whenever it comes
    });
  });

  it('judges the status from a Trailers-Only answer, from trailers (object or raw), or none at all', () => {
    const only = call();
    expect(only.trailersOnly(raw('content-type', 'application/grpc', 'Grpc-Status', '14'))).toBe(true);
    only.ended({});
    expect(only.judged(200)).toBe(500);

    const normal = call();
    expect(normal.trailersOnly(raw('content-type', 'application/grpc'))).toBe(false);
    normal.ended({ 'grpc-status': '5', 'grpc-message': 'not found' });
    expect(normal.judged(200)).toBe(200);

    const rawTrailers = call();
    rawTrailers.ended(raw('grpc-status', '13'));
    expect(rawTrailers.judged(200)).toBe(500);

    expect(call().judged(200)).toBe(500); // no status at all: UNKNOWN
    const http = call();
    http.ended({ 'grpc-status': '0' });
    expect([http.judged(503), http.judged(404)]).toEqual([503, 404]); // not 200: judged as HTTP
  });
});

describe('trailers and the h2c preface', () => {
  it('turns undici trailers into fields Node sends, never a pseudo-header', () => {
    expect(trailerFields([])).toBeNull();
    expect(trailerFields(null)).toBeNull();
    expect(trailerFields({})).toBeNull();
    expect(trailerFields(raw('Grpc-Status', '0'))).toEqual({ 'grpc-status': '0' });
    expect(trailerFields({ 'grpc-status': '0', ':status': '200', 'x-a': ['1', '2'] })).toEqual({
      'grpc-status': '0',
      'x-a': '1, 2',
    });
  });

  it('tells the HTTP/2 preface from HTTP/1.1 as early as the bytes allow', () => {
    const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    expect(isH2Preface(Buffer.concat([preface, Buffer.from([0, 0, 0, 4])]))).toBe(true);
    expect(isH2Preface(preface.subarray(0, 10))).toBeNull();
    expect(isH2Preface(Buffer.from('POST / HTTP/1.1\r\n'))).toBe(false);
    expect(isH2Preface(Buffer.from('PRI * HTTP/1.1\r\n'))).toBe(false);
    expect(isH2Preface(Buffer.from('G'))).toBe(false);
  });
});
