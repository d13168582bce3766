// An answer that is all headers: over HTTP/2 in its one HEADERS frame (H2Response.endWithHeaders, which a
// gRPC Trailers-Only answer needs), over HTTP/1.1 as a head and an empty body.
import type { FrontResponse } from './front.js';
import { H2Response } from './h2-response.js';

/** Throws what Node throws for a header it refuses (nothing was sent then). */
export function endWithHeaders(res: FrontResponse, status: number, headers: readonly string[]): void {
  if (!(res instanceof H2Response)) {
    res.writeHead(status, headers as string[]);
    res.end();
    return;
  }
  res.endWithHeaders(status, headers);
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
