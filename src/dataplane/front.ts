// What veer's request path reads and writes of a request and its response, whichever front parsed the
// request: exactly the members the ingress, the exchange, the downstream writer, the request body, veer's
// own answers and the access line use, no more. node:http's IncomingMessage and ServerResponse satisfy
// them as they are: nothing wraps them, so nothing is allocated per request for this. veer's own fronts
// implement these and nothing else: HTTP/1.1 parsed by veer (http1/), and HTTP/2 streams read directly
// (h2-request.ts, h2-response.ts). What only node:http's front needs
// (the ledger's socket assignment, `sendDate`) stays typed as node:http in the files that do it.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** The client connection, as far as the request path looks at it. */
export interface FrontSocket {
  readonly remoteAddress?: string | undefined;
  /** True on a TLS socket (node:tls sets it); absent on a plain one. */
  readonly encrypted?: boolean;
}

export interface FrontRequest {
  /** Lower-case names; values joined as node:http joins them (set-cookie an array). */
  readonly headers: IncomingHttpHeaders;
  /** Names as sent, name and value alternating. */
  readonly rawHeaders: string[];
  /** The request target; admission replaces it with its normalized origin form. */
  url?: string | undefined;
  readonly method?: string | undefined;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  /** The HTTP/2 stream (node:http2's compat request has one); absent on an HTTP/1 connection. */
  readonly stream?: unknown;
  readonly socket: FrontSocket;
  /** The whole body has been read. */
  readonly complete: boolean;
  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'end' | 'aborted', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  off(event: 'data', listener: (chunk: Buffer) => void): this;
  off(event: 'end', listener: () => void): this;
  pause(): this;
  resume(): this;
}

export interface FrontResponse {
  readonly headersSent: boolean;
  statusCode: number;
  /** False: the connection closes after this answer (HTTP/1.1 only; HTTP/2 has no such flag). */
  shouldKeepAlive?: boolean;
  /** The whole answer was handed to the connection. */
  readonly writableFinished: boolean;
  /** Bytes written but not yet taken by the connection. */
  readonly writableLength: number;
  readonly destroyed: boolean;
  /** The request it answers (veer's own answers read its Accept and Content-Type). */
  readonly req?: { readonly headers: IncomingHttpHeaders };
  writeHead(statusCode: number, headers?: OutgoingHttpHeaders | string[]): this;
  writeHead(statusCode: number, statusMessage: string, headers: string[]): this;
  /** False: the client is slow; 'drain' follows. */
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer | string): this;
  addTrailers(fields: OutgoingHttpHeaders): void;
  cork(): void;
  uncork(): void;
  destroy(): this;
  once(event: 'drain' | 'close', listener: () => void): this;
  on(event: 'close', listener: () => void): this;
  off(event: 'close', listener: () => void): this;
}
