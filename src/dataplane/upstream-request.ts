// What one attempt asks of its upstream: the request as undici dispatches it, with the idle bounds
// that apply to it (a gRPC call's deadline widens them, see grpc-call.ts).
import type { FrontRequest } from './front.js';
import type { Dispatcher } from 'undici';
import { idleBound, type GrpcCall } from './grpc-call.js';
import type { RequestBody } from './request-body.js';
import type { ServiceRoute } from './table.js';

export function upstreamRequest(
  req: FrontRequest,
  route: ServiceRoute,
  headers: string[],
  body: RequestBody | null,
  grpc: GrpcCall | null,
): Dispatcher.DispatchOptions {
  const { header, body: idle } = route.timeouts;
  return {
    origin: undefined,
    path: req.url ?? '/',
    method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
    headers,
    body,
    headersTimeout: idleBound(header, grpc),
    bodyTimeout: idleBound(idle, grpc),
  };
}
