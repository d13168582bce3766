// gRPC status codes (grpc/doc/statuscodes.md) and the two decisions veer makes with them: which codes
// count as a failed call for the judge, and which code tells a gRPC client what veer's own HTTP error
// meant (grpc/doc/http-grpc-status-mapping.md).

export const GRPC_CODES = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcCodeName = keyof typeof GRPC_CODES;

/** What a failed call is by default: the server or the network broke, not the caller's request. */
export const DEFAULT_GRPC_ERROR_CODES: readonly GrpcCodeName[] = [
  'UNAVAILABLE',
  'INTERNAL',
  'UNKNOWN',
  'DEADLINE_EXCEEDED',
];

/** A code by name (any case) or number; null when it is neither. */
export function parseGrpcCode(v: string | number): number | null {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= 16 ? v : null;
  const code = (GRPC_CODES as Record<string, number>)[v.trim().toUpperCase()];
  return code ?? null;
}

/**
 * One bit per code: a lookup with no allocation per call. A grpc-status the spec does not define
 * (or a garbled one) is UNKNOWN, as gRPC clients read it.
 */
export function errorMask(codes: readonly number[]): number {
  let mask = 0;
  for (const c of codes) mask |= 1 << c;
  return mask;
}

export function grpcFailed(grpcStatus: string, mask: number): boolean {
  return (mask & (1 << codeOf(grpcStatus))) !== 0;
}

function codeOf(grpcStatus: string): number {
  const n = /^\d{1,2}$/.test(grpcStatus) ? Number(grpcStatus) : -1;
  return n >= 0 && n <= 16 ? n : GRPC_CODES.UNKNOWN;
}

/**
 * Deadlines are whole milliseconds (grpc-timeout rounded up, a server's clock and timers, which in Node may fire
 * up to a millisecond early): an answer within one of the caller's deadline is taken for it.
 */
const DEADLINE_SLOP_MS = 1;

/**
 * Whether a failed call's status is the caller's own deadline answering: DEADLINE_EXCEEDED or CANCELLED once
 * the caller's `grpc-timeout` had passed (`elapsedMs` since veer got the call). Any client can send a tiny
 * deadline, so such an answer says nothing of the upstream; one that comes before the caller's deadline
 * (the server's own deadline, a call it cancelled) still does.
 */
export function callerDeadlineAnswer(grpcStatus: string, deadlineMs: number | null, elapsedMs: number): boolean {
  if (deadlineMs === null || elapsedMs + DEADLINE_SLOP_MS < deadlineMs) return false;
  const code = codeOf(grpcStatus);
  return code === GRPC_CODES.DEADLINE_EXCEEDED || code === GRPC_CODES.CANCELLED;
}

/** The code a gRPC client is told for veer's own HTTP answer (the spec's HTTP→gRPC mapping). */
export function grpcCodeForHttp(status: number): number {
  switch (status) {
    case 400:
      return GRPC_CODES.INTERNAL;
    case 401:
      return GRPC_CODES.UNAUTHENTICATED;
    case 403:
      return GRPC_CODES.PERMISSION_DENIED;
    case 404:
      return GRPC_CODES.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GRPC_CODES.UNAVAILABLE;
    default:
      return GRPC_CODES.UNKNOWN;
  }
}

/** A gRPC request: `application/grpc`, `application/grpc+proto`, `application/grpc-web` excluded. */
export function isGrpcContentType(type: string | undefined): boolean {
  if (type === undefined || !type.startsWith('application/grpc')) return false;
  const next = type.charCodeAt(16);
  return Number.isNaN(next) || next === 43 /* + */ || next === 59; /* ; */
}

/** grpc-timeout ("100m", "5S", up to 8 digits and a unit) in ms; null when absent or malformed. */
export function grpcTimeoutMs(value: string | undefined): number | null {
  if (value === undefined) return null;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (m === null) return null;
  const n = Number(m[1]);
  const unit = m[2] as 'H' | 'M' | 'S' | 'm' | 'u' | 'n';
  const factor = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 }[unit];
  return Math.ceil(n * factor);
}
