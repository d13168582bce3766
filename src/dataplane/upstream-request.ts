// What one attempt asks of its upstream: the request as undici dispatches it. Its time bounds are veer's
// (timed-attempt.ts, upstream-deadlines.ts), not undici's, whose timers cost two long-lived objects a request.
import type { FrontRequest } from './front.js';
import type { Dispatcher } from 'undici';
import type { RequestBody } from './request-body.js';
import type { Dispatched } from './http1/upstream-call.js';

export function upstreamRequest(
  req: FrontRequest,
  headers: string[],
  body: RequestBody | null,
): Dispatcher.DispatchOptions & Dispatched {
  return {
    origin: undefined,
    path: req.url ?? '/',
    method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
    headers,
    body,
    headersTimeout: 0,
    bodyTimeout: 0,
  };
}
