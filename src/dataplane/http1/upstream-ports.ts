// What one upstream connection is given: where it goes and its bounds, and the pool it reports to
// (upstream-pool.ts is that pool; upstream-connection.ts the connection).
import type { UpstreamCall, UpstreamHandler } from './upstream-call.js';
import type { UpstreamConnection } from './upstream-connection.js';

/** What a connection tells its pool. */
export interface ConnectionOwner {
  /** The answer is whole; `reusable`: the connection may carry the next request (within `idleMs`). */
  released(c: UpstreamConnection, reusable: boolean): void;
  /** The connection closed. */
  gone(c: UpstreamConnection): void;
  /** Sends `call` again on a fresh connection (see UpstreamConnection's `fail`). */
  resend(call: UpstreamCall, handler: UpstreamHandler): void;
}

export interface ConnectionOptions {
  host: string;
  port: number;
  connectTimeout: number;
  /** Bytes a response's head may take (node:http's maxHeaderSize, undici's default). */
  maxHeaderSize: number;
}
