// The access line of a request veer refused before it had it whole: Node's parser (malformed framing, a
// head past maxHeaderSize, a timeout), veer's own front, CONNECT, an expectation it cannot meet (HTTP/1.1 and
// HTTP/2). No entry was opened for such a request (ingress.ts opens them), so its line is written from what is
// known: the peer, the answer, and the request line and Host when they were read. Pure: the caller gives the time.
import { peerAddress } from './headers.js';

/** What veer refuses before a request is whole, and the status it answers each with. */
export const REFUSAL_STATUS = {
  bad_request: 400,
  headers_too_large: 431,
  request_timeout: 408,
  method_not_allowed: 405,
  expectation_failed: 417,
} as const;

export type ParserRefusal = keyof typeof REFUSAL_STATUS;

/** What Node's parser refused (its clientError's code): a head too large, one too slow, or malformed framing. */
export function clientErrorRefusal(code: string | undefined): 'headers_too_large' | 'request_timeout' | 'bad_request' {
  if (code === 'HPE_HEADER_OVERFLOW') return 'headers_too_large';
  return code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request_timeout' : 'bad_request';
}

export interface RefusedRequest {
  readonly status: number;
  readonly error: ParserRefusal;
  /** The peer's address as its socket gives it. */
  readonly remote: string | undefined;
  readonly method: string | null;
  readonly host: string | null;
  readonly path: string | null;
}

/** What of a request line and Host was read: nothing, when the refusal came before them. */
export interface SeenHead {
  readonly method?: Field;
  readonly host?: Field;
  readonly path?: Field;
}

/** A header's value as Node gives it (a repeated one as a list, which says nothing sure). */
type Field = string | readonly string[] | undefined;
const text = (v: Field): string | null => (typeof v === 'string' ? v : null);

export function refusedRequest(error: ParserRefusal, remote: string | undefined, seen: SeenHead = {}): RefusedRequest {
  const [method, host, path] = [text(seen.method), text(seen.host), text(seen.path)];
  return { status: REFUSAL_STATUS[error], error, remote, method, host, path };
}

/** What a request object Node made before refusing it tells (CONNECT, an Expect, an Upgrade with a body). */
export function seenOf(req: { method?: string; url?: string; headers: { host?: string } }): SeenHead {
  return { method: req.method, host: req.headers.host, path: req.url };
}

/** How much of the refused bytes is searched for the request line and Host (a head may be far larger). */
const HEAD_PREFIX = 8192;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/\d\.\d\r?\n/;
const HOST = /\nhost:([^\r\n]*)/i; // linear: no two quantifiers over the same characters

/** The request line and Host at the start of the bytes Node's parser refused (its error's rawPacket), if there. */
export function headOfPacket(packet: unknown): SeenHead {
  if (!Buffer.isBuffer(packet)) return {};
  const bytes = packet.subarray(0, HEAD_PREFIX).toString('latin1');
  const line = REQUEST_LINE.exec(bytes);
  if (line === null) return {};
  const end = bytes.indexOf('\r\n\r\n');
  const host = HOST.exec(end === -1 ? bytes : bytes.slice(0, end))?.[1]?.trim();
  return { method: line[1], path: line[2], host };
}

/** Its line: the fields of every access line (access-line.ts), those not known null or 0. `at`: epoch ms. */
export function refusalLine(r: RefusedRequest, at: number): string {
  const record = {
    kind: 'access',
    time: new Date(at).toISOString(),
    requestId: null,
    client: peerAddress(r.remote),
    forwardedFor: null,
    method: r.method,
    host: r.host,
    path: r.path,
    status: r.status,
    bytesIn: 0,
    bytesOut: 0,
    durationMs: 0,
    upstreamMs: null,
    service: null,
    pool: null,
    target: null,
    rolloutId: null,
    error: r.error,
    attempts: 0,
  };
  return `${JSON.stringify(record)}\n`;
}
