// One request as veer's HTTP/1.1 upstream client sends it, and what hears its answer: the calls undici's
// dispatch makes on its handler, which the exchange implements. The request is checked here as undici
// checks it (a field name that is no token, a value with a control character, a target that is no
// origin-form path, a Content-Length that is no number): the same refusals, with undici's error code, so
// the exchange answers them as the client's fault before anything is sent.
import type { Readable } from 'node:stream';
import { errors } from 'undici';

export interface UpstreamHandler {
  onConnect(abort: (err?: Error) => void): void;
  /** False: pause the response until `resume`. Fields are name and value alternating, as received. */
  onHeaders(status: number, raw: string[], resume: () => void, statusText: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: string[] | null): void;
  onError(err: Error): void;
  onBodySent?(chunk: Buffer): void;
  onRequestSent?(): void;
}

/** What the exchange dispatches (undici's options, as far as veer uses them). */
export interface Dispatched {
  path: string;
  method: string;
  headers: string[];
  body: Readable | null;
}

export interface UpstreamCall extends Dispatched {
  /** The body's length from its Content-Length field; -1: none given (sent chunked when there is a body). */
  contentLength: number;
  /** Sent once more already, on a new connection (a request is never sent a third time). */
  resent: boolean;
}

const TOKEN = /^[!#$%&'*+\-.^`|~\w]+$/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const BAD_PATH = /[^\u0021-\u00ff]/;
/** Methods whose request has a body by definition: without one, undici says `content-length: 0`. */
const EXPECTS_BODY = new Set(['POST', 'PUT', 'PATCH']);

/** The call, or the error undici would refuse it with. */
export function checkedCall(d: Dispatched): UpstreamCall | Error {
  if (!TOKEN.test(d.method)) return new errors.InvalidArgumentError('invalid request method');
  if (d.path.charCodeAt(0) !== 47) return new errors.InvalidArgumentError('path must start with a slash');
  if (BAD_PATH.test(d.path)) return new errors.InvalidArgumentError('invalid request path');
  const h = d.headers;
  let contentLength = -1;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i] as string;
    const value = h[i + 1] as string;
    if (!TOKEN.test(name)) return new errors.InvalidArgumentError('invalid header key');
    if (BAD_VALUE.test(value)) return new errors.InvalidArgumentError(`invalid ${name} header`);
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      if (!/^\d+$/.test(value) || contentLength >= 0)
        return new errors.InvalidArgumentError('invalid content-length header');
      contentLength = Number(value);
    }
  }
  // A new object of five fields, not a spread of undici's options (their copy showed in the profile).
  return { path: d.path, method: d.method, headers: d.headers, body: d.body, contentLength, resent: false };
}

/**
 * The head, blank line included: the fields as given, Host if none was, the body's framing when it has no
 * length (chunked), and keep-alive said as undici says it.
 */
export function requestHead(call: UpstreamCall, at: { host: string; port: number }): string {
  let text = `${call.method} ${call.path} HTTP/1.1\r\n`;
  let host = false;
  const h = call.headers;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') host = true;
    text += `${name}: ${h[i + 1] as string}\r\n`;
  }
  if (!host) text += `host: ${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}\r\n`;
  // A given Content-Length is among the fields already.
  if (call.contentLength < 0 && call.body !== null) text += 'transfer-encoding: chunked\r\n';
  else if (call.contentLength < 0 && EXPECTS_BODY.has(call.method)) text += 'content-length: 0\r\n';
  return `${text}connection: keep-alive\r\n\r\n`;
}

/** Methods whose request may be sent twice (RFC 9110 §9.2.2) when the first never got an answer. */
const REPEATABLE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * A request lost with a kept-alive connection the upstream closed as it went out (`code`: the connection
 * closed under it, not an abort, a timeout or a broken answer) may go once more: without a body, safe to
 * repeat, and not sent twice already.
 */
export function mayResend(call: UpstreamCall, code: string | undefined): boolean {
  const closed = code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE';
  return closed && call.body === null && !call.resent && REPEATABLE.has(call.method);
}
