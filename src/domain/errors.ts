// One error hierarchy: every error that can reach a client or an operator has a stable `code`
// (machine-readable, part of the API contract) and the HTTP status the admin API answers with.
import { errorJson, type ErrorJson } from './error-body.js';

export interface Problem {
  /** Dotted path of the offending field, e.g. `services[0].rollout.steps[2]` or `weight`. */
  path: string;
  message: string;
}

export class VeerError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  readonly problems: readonly Problem[];

  constructor(code: string, httpStatus: number, message: string, problems: readonly Problem[] = []) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.httpStatus = httpStatus;
    this.problems = problems;
  }

  toJSON(): ErrorJson {
    return errorJson(this.code, this.message, this.problems);
  }
}

/** The config file (or a config-shaped override) is invalid. Lists every problem by path. */
export class ConfigError extends VeerError {
  constructor(message: string, problems: readonly Problem[] = []) {
    super('config_invalid', 400, message, problems);
  }
}

/** A request body or parameter is invalid. */
export class ValidationError extends VeerError {
  constructor(problems: readonly Problem[]) {
    super(
      'invalid_request',
      400,
      problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; '),
      problems,
    );
  }
}

export class NotFoundError extends VeerError {
  constructor(what: string, name: string) {
    super('not_found', 404, `${what} '${name}' not found`);
  }
}

export class ConflictError extends VeerError {
  constructor(message: string, code = 'conflict') {
    super(code, 409, message);
  }
}

export class UnauthorizedError extends VeerError {
  constructor() {
    super('unauthorized', 401, 'missing or invalid bearer token');
  }
}

export class UnavailableError extends VeerError {
  constructor(message: string) {
    super('unavailable', 503, message);
  }
}

export function isVeerError(e: unknown): e is VeerError {
  return e instanceof VeerError;
}

/** Expected outcomes are values, not exceptions. */
export type Result<T, E = VeerError> = { ok: true; value: T } | { ok: false; error: E };
export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });

/** For exhaustive switches over string-literal unions. */
export function assertNever(x: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${String(x)}`);
}

/** The message of anything thrown: an Error's message, else its string form. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
