// The checks every request passes before it is routed, shared by plain requests and upgrades, so
// that both refuse the same things: limits fail closed, and what is routed is what is forwarded.
import type { FrontRequest } from './front.js';
import { parseRequestTarget, isValidHost } from './request-target.js';
import type { ProxyErrorCode } from './responses.js';

export interface Admitted {
  /** What routing matches: the absolute-form authority, else the Host header. */
  host: string | undefined;
  /** Set when the request target was in absolute form; it replaces Host upstream. */
  authority: string | undefined;
}

/**
 * Admits `req` or names why it is refused. On admission `req.url` holds the normalized origin-form
 * target, which routing reads and the upstream receives.
 */
export function admit(req: FrontRequest, maxHeaders: number): Admitted | ProxyErrorCode {
  // The HTTP/1.1 server keeps every field (bounded in bytes by maxHeaderSize; see server.ts) and HTTP/2
  // a few more than maxHeaders, so "more than allowed" is always visible here, never dropped silently.
  if (req.rawHeaders.length > maxHeaders * 2) return 'too_many_headers';
  const version = versionFault(req);
  if (version !== null) return version;
  const te = req.headers['transfer-encoding'];
  // Node decodes chunked framing only; any other coding would reach the upstream undeclared.
  if (te !== undefined && !isLoneChunked(te)) return 'unsupported_transfer_encoding';
  const target = parseRequestTarget(req.url ?? '/');
  if (typeof target === 'string') return target;
  const header = req.headers.host;
  // HTTP/1.1 requires a Host field even with an absolute-form target (RFC 9112 §3.2); HTTP/1.0
  // clients may omit it and reach "*" services. An empty one names no host to route by or forward
  // (nginx refuses it too), unless the absolute-form authority takes its place.
  if (
    header === undefined
      ? req.httpVersionMinor === 1 && req.httpVersionMajor === 1
      : !isValidHost(header) || (header === '' && target.authority === undefined)
  )
    return 'bad_host';
  const host = target.authority ?? header;
  req.url = target.path;
  return { host, authority: target.authority };
}

/**
 * HTTP/1.0 and 1.1 from an HTTP/1 connection, 2 only from an HTTP/2 stream: a request line may claim
 * any version llhttp reads (`HTTP/2.0`, `HTTP/0.9`), and veer would otherwise serve it as 1.1 (nginx
 * answers 505). Transfer-Encoding in an HTTP/1.0 request makes its framing faulty (RFC 9112 §6.1).
 */
function versionFault(req: FrontRequest): ProxyErrorCode | null {
  const major = req.httpVersionMajor;
  if (major === 1)
    return req.httpVersionMinor === 0 && req.headers['transfer-encoding'] !== undefined ? 'bad_framing' : null;
  return major === 2 && req.stream !== undefined ? null : 'http_version_not_supported';
}

function isLoneChunked(te: string): boolean {
  return te.length >= 7 && te.trim().toLowerCase() === 'chunked';
}

/** How many Host fields the request carries (more than one is refused). */
export function hostFieldCount(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') n++;
  }
  return n;
}
