// A scenario's `traffic` as the simulator calls it, checked on every call: what it throws or returns
// wrongly stops the simulation with the second, the pool and what was wrong, instead of surfacing
// later as a NaN in the judge or a stack trace from deep inside the controller.
import { describe } from '../../config/problems.js';
import { VeerError, errorMessage } from '../../domain/errors.js';
import type { SimRequest, TrafficContext } from '../../simulate.js';
import { MAX_REQUESTS_PER_SECOND } from './limits.js';
import { firstLine, isPlainObject, type TrafficFn } from './scenario.js';

/** The scenario's code broke its contract mid-run. */
export class ScenarioError extends VeerError {
  constructor(message: string) {
    super('scenario_invalid', 400, message);
  }
}

export function checkedTraffic(path: string, traffic: TrafficFn): (ctx: TrafficContext) => readonly SimRequest[] {
  return (ctx) => {
    const where = `${path}: traffic at second ${ctx.second}, pool ${ctx.pool}`;
    let out: unknown;
    try {
      out = traffic(ctx);
    } catch (e) {
      throw new ScenarioError(`${where} threw: ${firstLine(errorMessage(e))}`);
    }
    const problem = requestsProblem(out);
    if (problem !== null) throw new ScenarioError(`${where}: ${problem}`);
    return out as readonly SimRequest[];
  };
}

/** Why `out` is not a list of requests, or null. */
export function requestsProblem(out: unknown): string | null {
  if (!Array.isArray(out)) {
    const promise = isPlainObject(out) && typeof out.then === 'function';
    return promise
      ? 'expected an array of requests, got a Promise (traffic must return its requests, not await them)'
      : `expected an array of requests like [{ status: 200, latencyMs: 20 }], got ${describe(out)}`;
  }
  if (out.length > MAX_REQUESTS_PER_SECOND)
    return `returned ${out.length} requests, more than ${MAX_REQUESTS_PER_SECOND} in one second`;
  for (let i = 0; i < out.length; i++) {
    const problem = requestProblem(out[i]);
    if (problem !== null) return `[${i}]${problem}`;
  }
  return null;
}

const isNameLike = (v: unknown) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));

function requestProblem(q: unknown): string | null {
  if (!isPlainObject(q)) return `: expected a request like { status: 200, latencyMs: 20 }, got ${describe(q)}`;
  const status = q.status;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599)
    return `.status: expected an HTTP status (an integer from 100 to 599), got ${describe(status)}`;
  const latency = q.latencyMs;
  if (typeof latency !== 'number' || !Number.isFinite(latency) || latency < 0)
    return `.latencyMs: expected a number of milliseconds ≥ 0, got ${describe(latency)}`;
  if (q.route !== undefined && typeof q.route !== 'string')
    return `.route: expected a string such as "/api", got ${describe(q.route)}`;
  for (const key of ['client', 'instance'] as const) {
    if (q[key] !== undefined && !isNameLike(q[key]))
      return `.${key}: expected a string or a number, got ${describe(q[key])}`;
  }
  return null;
}
