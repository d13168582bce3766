// An HTTP/1.1 answer's head as node:http's ServerResponse would write it for veer (no Date: the upstream's
// own is passed on), and how its body is framed: the fields given, checked as Node checks them (a name
// that is no token, a value with a control character but tab throws; the caller answers 502 instead), then
// Content-Length as given, or chunked when the body has no length and the client speaks HTTP/1.1, or
// the connection closes after the body for an HTTP/1.0 client; then Connection and Keep-Alive.
import { STATUS_CODES, type OutgoingHttpHeaders } from 'node:http';

export interface HeadFacts {
  status: number;
  /** null: the standard reason phrase. */
  statusText: string | null;
  /** A flat name/value list, or node:http's object form. */
  headers: readonly string[] | OutgoingHttpHeaders | undefined;
  /** The request was HEAD: the head says what a GET would get, no body follows. */
  head: boolean;
  /** The client speaks HTTP/1.1 (chunked is understood). */
  http11: boolean;
  keepAlive: boolean;
  /** Seconds announced in Keep-Alive (node:http's keepAliveTimeout, floored); 0: none announced. */
  keepAliveS: number;
}

export interface Head {
  text: string;
  /** The body goes out in chunks. */
  chunked: boolean;
  /** No body may follow (HEAD, 1xx, 204, 304). */
  bodyless: boolean;
  keepAlive: boolean;
}

const TOKEN = /^[!#$%&'*+\-.^`|~\w]+$/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

function field(name: string, value: string): string {
  if (!TOKEN.test(name)) throw new TypeError(`invalid header name: ${JSON.stringify(name)}`);
  if (BAD_VALUE.test(value)) throw new TypeError(`invalid character in header ${name}`);
  return `${name}: ${value}\r\n`;
}

export function responseHead(f: HeadFacts): Head {
  let text = `HTTP/1.1 ${f.status} ${f.statusText ?? STATUS_CODES[f.status] ?? 'unknown'}\r\n`;
  let length = false;
  let encoding = false;
  let keepAlive = f.keepAlive;
  let connection = false;
  const add = (name: string, value: string): void => {
    text += field(name, value);
    const n = name.length;
    if (n === 14 && name.toLowerCase() === 'content-length') length = true;
    else if (n === 17 && name.toLowerCase() === 'transfer-encoding') encoding = true;
    else if (n === 10 && name.toLowerCase() === 'connection') {
      connection = true;
      if (/(^|,)\s*close\s*(,|$)/i.test(value)) keepAlive = false;
    }
  };
  const h = f.headers;
  if (Array.isArray(h)) {
    for (let i = 0; i + 1 < h.length; i += 2) add(h[i] as string, h[i + 1] as string);
  } else if (h !== undefined) {
    for (const [name, v] of Object.entries(h as OutgoingHttpHeaders)) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const one of v) add(name, String(one));
      else add(name, String(v));
    }
  }
  const bodyless = f.head || f.status < 200 || f.status === 204 || f.status === 304;
  let chunked = false;
  if (!bodyless && !length && !encoding) {
    if (f.http11) chunked = true;
    else keepAlive = false; // the end of the connection is the end of the body
  }
  // In node:http's order: Connection and Keep-Alive, then Transfer-Encoding.
  if (!connection) {
    if (!keepAlive) text += 'Connection: close\r\n';
    else {
      text += 'Connection: keep-alive\r\n';
      if (f.keepAliveS > 0) text += `Keep-Alive: timeout=${f.keepAliveS}\r\n`;
    }
  }
  if (chunked) text += 'Transfer-Encoding: chunked\r\n';
  return { text: `${text}\r\n`, chunked, bodyless, keepAlive };
}
