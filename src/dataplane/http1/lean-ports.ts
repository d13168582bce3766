// What a connection of veer's own HTTP/1.1 front is given: node:http's limits, and what it asks of the
// server around it (lean-front.ts fills it in).
import type { Socket } from 'node:net';
import type { FrontRequest, FrontResponse } from '../front.js';
import type { ParserRefusal } from '../server.js';

export interface LeanLimits {
  keepAliveTimeout: number;
  headersTimeout: number;
  requestTimeout: number;
  maxHeaderSize: number;
}

/** What the connection asks of the server around it. */
export interface LeanPorts {
  /** Handles a request when its turn comes. */
  start(req: FrontRequest, res: FrontResponse): void;
  /** node:http reads this socket from now on (its unread bytes were put back). */
  refer(socket: Socket): void;
  /** `started`: the refused request was handed over, so its own access line tells of it. */
  refused(code: ParserRefusal, started: boolean): void;
  /** The server is shutting down: answers close their connection. */
  closing(): boolean;
  /** One request more (1) or less (-1) owed an answer. */
  owed(delta: number): void;
  /** The connection is gone or referred: forget it. */
  forget(conn: object): void;
}
