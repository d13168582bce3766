// The short JSON bodies the proxy itself answers with. Never a stack trace, never upstream internals.
import type { ServerResponse } from 'node:http';

export type ProxyErrorCode =
  | 'no_route'
  | 'bad_request'
  | 'no_targets'
  | 'bad_gateway'
  | 'upstream_unreachable'
  | 'upstream_timeout'
  | 'loop_detected'
  | 'shutting_down';

const STATUS: Record<ProxyErrorCode, number> = {
  no_route: 404,
  bad_request: 400,
  no_targets: 503,
  bad_gateway: 502,
  upstream_unreachable: 502,
  upstream_timeout: 504,
  loop_detected: 508,
  shutting_down: 503,
};

const MESSAGE: Record<ProxyErrorCode, string> = {
  no_route: 'no service matches this host and path',
  bad_request: 'the request cannot be forwarded (invalid or unsupported header)',
  no_targets: 'the service has no available targets',
  bad_gateway: 'the upstream answered with an invalid or interrupted response',
  upstream_unreachable: 'could not connect to an upstream',
  upstream_timeout: 'the upstream did not answer in time',
  loop_detected: 'request loop detected (this proxy appears in Via)',
  shutting_down: 'the proxy is shutting down',
};

// Pre-rendered: error answers should not cost a JSON.stringify under an incident's load.
const BODY = Object.fromEntries(
  (Object.keys(STATUS) as ProxyErrorCode[]).map((c) => [c, Buffer.from(JSON.stringify({ error: { code: c, message: MESSAGE[c] } }))]),
) as Record<ProxyErrorCode, Buffer>;

export function statusOf(code: ProxyErrorCode): number {
  return STATUS[code];
}

export function sendProxyError(res: ServerResponse, code: ProxyErrorCode, extraHeaders?: readonly string[]): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = BODY[code];
  const headers = ['content-type', 'application/json', 'content-length', String(body.length), 'cache-control', 'no-store'];
  if (extraHeaders) headers.push(...extraHeaders);
  res.writeHead(STATUS[code], headers);
  res.end(body);
}
