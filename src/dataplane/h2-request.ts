// HTTP/2 requests enter the same ingress as HTTP/1.1 ones, through Node's compatibility objects. What
// differs is adapted here, once, at the edge: pseudo-headers are not header fields (never forwarded),
// `:authority` stands for Host, split Cookie fields are joined for the HTTP/1.1 upstream (RFC 9113
// §8.2.3), and a body without Content-Length is marked chunked so the ingress forwards it.
import { constants, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { errorBody, JSON_TYPE } from '../domain/error-body.js';
import type { FrontRequest, FrontResponse } from './front.js';

const COLON = 58;

/**
 * Rewrites `req`'s header view in place into what an HTTP/1.1 request would carry. A Host field that names
 * another host than `:authority` makes the request malformed (RFC 9113 §8.3.1): both are kept, and the
 * ingress refuses a repeated Host as it does over HTTP/1.1 (400 bad_host, with its id and access line).
 */
export function asHttp1Request(req: Http2ServerRequest): void {
  const raw = req.rawHeaders;
  const out: string[] = [];
  let cookies: string[] | null = null;
  let host = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    if (name.charCodeAt(0) === COLON) continue;
    if (name === 'cookie') {
      (cookies ??= []).push(value);
      continue;
    }
    if (name === 'host') host = true;
    out.push(name, value);
  }
  if (cookies !== null) out.push('cookie', cookies.join('; '));
  const authority = req.headers[':authority'];
  if (typeof authority === 'string') {
    if (!host) req.headers.host = authority;
    if (!host || !sameAuthority(authority, String(req.headers.host), req.headers[':scheme']))
      out.push('host', authority);
  }
  if (req.headers['content-length'] === undefined && !req.stream.endAfterHeaders)
    req.headers['transfer-encoding'] = 'chunked';
  // An own property shadows the compat object's getter: the ingress reads the adapted list.
  Object.defineProperty(req, 'rawHeaders', { value: out, configurable: true });
}

/** The same host and port, the port defaulting to the scheme's (RFC 3986 §6.2.3: `a.test:443` is `a.test`). */
function sameAuthority(a: string, b: string, scheme: string | string[] | undefined): boolean {
  const port = scheme === 'http' ? ':80' : ':443';
  const norm = (s: string): string => {
    const l = s.toLowerCase();
    return l.endsWith(port) ? l.slice(0, -port.length) : l;
  };
  return norm(a) === norm(b);
}

/**
 * The ingress's entry for one HTTP/2 request. CONNECT (a tunnel, RFC 9113 §8.5) is refused as over
 * HTTP/1.1; everything else is served by the same code as HTTP/1.1.
 */
export function h2Entry(
  handle: (req: FrontRequest, res: FrontResponse) => void,
  refused: () => void,
): (req: Http2ServerRequest, res: Http2ServerResponse) => void {
  return (req, res) => {
    // The upstream's own Date header is passed through; Node must not add a second one.
    res.sendDate = false;
    if (req.method === 'CONNECT') {
      refused();
      const body = errorBody('method_not_allowed', 'CONNECT is not supported');
      res.writeHead(405, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) }).end(body);
      return;
    }
    asHttp1Request(req);
    // Node's compat response says "finished" on every stream close, a client's reset included; the
    // exchange tells a client that left by `writableFinished` (then it stops the upstream request).
    const stream = req.stream;
    Object.defineProperty(res, 'writableFinished', {
      get: () => res.writableEnded && stream.rstCode === constants.NGHTTP2_NO_ERROR,
      configurable: true,
    });
    // @types/node declares the compat writeHead without the flat header list Node has taken since 18.
    handle(req, res as unknown as FrontResponse);
  };
}
