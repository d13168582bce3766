// One engine call with an upper bound: every dockerode call veer makes goes through here, so none can
// hang a rollout on an engine that stopped answering. Errors other than the timeout stay raw, for the
// caller to recognise ("already done" answers) before mapping them (engine-errors.ts).
import { settledWithin } from '../domain/async.js';
import type { EngineErrors } from './engine-errors.js';

/** Runs `fn`, aborting its signal and rejecting with the endpoint's timeout error after `ms`. */
export type EngineCall = <T>(what: string, ms: number, fn: (signal: AbortSignal) => Promise<T>) => Promise<T>;

export function boundedCalls(errors: EngineErrors): EngineCall {
  return async <T>(what: string, ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const controller = new AbortController();
    const p = fn(controller.signal);
    // The bound is on the promise, not only the signal: a few dockerode calls (image inspect) ignore
    // abortSignal. A late rejection of `p` is already handled by settledWithin.
    if (!(await settledWithin(p, ms))) {
      controller.abort();
      throw errors.timeout(what, ms);
    }
    return p;
  };
}
