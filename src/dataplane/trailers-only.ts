// An answer that is all headers. Over HTTP/2 it ends in its one HEADERS frame (END_STREAM): a gRPC
// Trailers-Only answer must, or gRPC clients read its grpc-status as metadata and wait for trailers
// that never come. Node's compatibility response always sends trailers separately, so the stream
// answers directly here.
import type { OutgoingHttpHeaders } from 'node:http';
import type { FrontResponse } from './front.js';
import type { Http2ServerResponse } from 'node:http2';

/** Throws what Node throws for a header it refuses (nothing was sent then). */
export function endWithHeaders(res: FrontResponse, status: number, headers: readonly string[]): void {
  if (!('stream' in res)) {
    res.writeHead(status, headers as string[]);
    res.end();
    return;
  }
  const out: OutgoingHttpHeaders = { ':status': status };
  for (let i = 0; i < headers.length; i += 2) {
    const name = (headers[i] as string).toLowerCase();
    const value = headers[i + 1] as string;
    const had = out[name];
    out[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [String(had), value];
  }
  (res as unknown as Http2ServerResponse).stream.respond(out, { endStream: true });
}

/** Trailers as Node's addTrailers takes them, from undici's (an object over HTTP/2, raw pairs over HTTP/1.1). */
export function trailerFields(trailers: unknown): Record<string, string> | null {
  if (trailers === null || typeof trailers !== 'object') return null;
  if (Array.isArray(trailers) && trailers.length === 0) return null;
  const out: Record<string, string> = {};
  let any = false;
  if (Array.isArray(trailers)) {
    for (let i = 0; i + 1 < trailers.length; i += 2) {
      out[String(trailers[i]).toLowerCase()] = String(trailers[i + 1]);
      any = true;
    }
  } else {
    for (const [k, v] of Object.entries(trailers as Record<string, unknown>)) {
      if (k.charCodeAt(0) === 58 || v === undefined) continue; // never a pseudo-header
      out[k] = Array.isArray(v) ? v.join(', ') : String(v);
      any = true;
    }
  }
  return any ? out : null;
}
