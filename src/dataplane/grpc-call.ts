// One gRPC call as the exchange sees it: its deadline (which veer's own timeouts never undercut) and
// its grpc-status, known only at the end (trailers) or in the first HEADERS of a Trailers-Only answer.
// Made only for a service whose upstream speaks h2c and a request whose content-type says gRPC.
import type { IncomingHttpHeaders } from 'node:http';
import { callerDeadlineAnswer, grpcFailed, grpcTimeoutMs, isGrpcContentType } from '../domain/grpc-status.js';

/** A gRPC-capable (h2c) service's settings, on its route. */
export interface GrpcRoute {
  /** Bit n set: grpc-status n is a failed call (domain/grpc-status.ts errorMask). */
  readonly errorMask: number;
}

/** A deadline's call gets this much past it before veer's own timeout may cut it: the client's cancel comes first. */
const DEADLINE_GRACE_MS = 1000;
/**
 * The longest deadline that widens veer's idle bounds: grpc-timeout goes up to 99999999H, and any client may
 * send one, which would let it hold a quiet call (its request body too) open for years.
 */
const MAX_DEADLINE_BOUND_MS = 300_000;
/** The status a failed gRPC call is recorded with: a server error for the judge and the outlier streak. */
const FAILED_CALL_STATUS = 500;
/**
 * The status a call ended by its caller's own deadline is recorded with (nginx's "client closed request"): a
 * request of the pool and the caller's doing, as a 4xx is, never an error nor a step of the outlier streak.
 */
const CALLER_ENDED_STATUS = 499;
const STATUS_NAME = 'grpc-status';
const UNKNOWN = '2';

export class GrpcCall {
  /** The call's grpc-status once seen; null until then. */
  private status: string | null = null;

  private constructor(
    private readonly deadlineMs: number | null,
    private readonly errorMask: number,
    /** When veer got the call (performance.now()), read only for a call with a deadline. */
    private readonly arrivedAt: number,
  ) {}

  static of(route: GrpcRoute | null, headers: IncomingHttpHeaders): GrpcCall | null {
    if (route === null || !isGrpcContentType(headers['content-type'])) return null;
    const timeout = headers['grpc-timeout'];
    const deadlineMs = grpcTimeoutMs(typeof timeout === 'string' ? timeout : undefined);
    return new GrpcCall(deadlineMs, route.errorMask, deadlineMs === null ? 0 : performance.now());
  }

  /**
   * veer's idle bound (`timeouts.header` / `timeouts.body`) for this call: a call with a deadline is
   * bounded by it, so a quiet stream is not cut before its deadline; without one, the service's bound holds.
   */
  bound(configuredMs: number): number {
    if (this.deadlineMs === null) return configuredMs;
    return Math.max(configuredMs, Math.min(this.deadlineMs, MAX_DEADLINE_BOUND_MS) + DEADLINE_GRACE_MS);
  }

  /** Reads the response headers; true when they carry grpc-status (a Trailers-Only answer: no body follows). */
  trailersOnly(raw: readonly (Buffer | string)[]): boolean {
    this.status = valueOf(raw, STATUS_NAME);
    return this.status !== null;
  }

  /** Reads the trailers (undici gives HTTP/2 trailers as an object, HTTP/1.1 ones as raw pairs). */
  ended(trailers: unknown): void {
    if (trailers === null || typeof trailers !== 'object') return;
    const v = Array.isArray(trailers)
      ? valueOf(trailers as Buffer[], STATUS_NAME)
      : (trailers as Record<string, unknown>)[STATUS_NAME];
    if (typeof v === 'string') this.status = v;
  }

  /**
   * The status the pool's window records: an HTTP answer other than 200 is judged as HTTP; a 200's
   * outcome is its grpc-status (none at all is UNKNOWN, as gRPC clients read it). A failed status that is
   * the caller's own deadline answering (callerDeadlineAnswer) is the caller's, not the pool's.
   */
  judged(httpStatus: number): number {
    if (httpStatus !== 200) return httpStatus;
    const status = this.status ?? UNKNOWN;
    if (!grpcFailed(status, this.errorMask)) return httpStatus;
    if (this.deadlineMs === null) return FAILED_CALL_STATUS;
    const byCaller = callerDeadlineAnswer(status, this.deadlineMs, performance.now() - this.arrivedAt);
    return byCaller ? CALLER_ENDED_STATUS : FAILED_CALL_STATUS;
  }
}

function valueOf(raw: readonly (Buffer | string)[], name: string): string | null {
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i] as Buffer | string;
    if (n.length === name.length && n.toString().toLowerCase() === name) return (raw[i + 1] as Buffer).toString();
  }
  return null;
}

/** A request's idle bound: the service's, widened for a gRPC call with a deadline (GrpcCall.bound). */
export function idleBound(ms: number, call: GrpcCall | null): number {
  return call === null ? ms : call.bound(ms);
}
