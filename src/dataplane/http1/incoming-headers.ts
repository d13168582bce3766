// A request's header object as node:http builds it from the fields as sent, for a front that parses
// HTTP/1.1 itself: the request path reads `req.headers` with node:http's meaning, so a field sent twice
// must read the same whichever front parsed it. node:http keeps the first of a field that cannot be a
// list (Host, Content-Length, Authorization...: a second one is dropped, and admission reads rawHeaders
// for the duplicates it refuses), joins Cookie with "; ", keeps Set-Cookie as an array, and joins every
// other field with ", ". test/integration/dataplane/http1-parser.test.ts holds this to node:http's own
// result, on the Node that runs it.
import type { IncomingHttpHeaders } from 'node:http';

/** Fields whose second instance node:http drops. */
const FIRST_WINS = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/** `raw`: name and value alternating, names as sent. */
export function incomingHeaders(raw: readonly string[]): IncomingHttpHeaders {
  const out: Record<string, string | string[] | undefined> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    const had = out[name];
    if (name === 'set-cookie') {
      if (Array.isArray(had)) had.push(value);
      else out[name] = [value];
    } else if (typeof had !== 'string') {
      // As node:http tests it: a name the object inherits (`constructor`) holds no earlier value.
      out[name] = value;
    } else if (!FIRST_WINS.has(name)) {
      out[name] = `${had as string}${name === 'cookie' ? '; ' : ', '}${value}`;
    }
  }
  return out as IncomingHttpHeaders;
}
