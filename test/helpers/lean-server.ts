// One LeanConnection per accepted socket, with node:http's limits and a server around it that only starts
// requests: for the tests of veer's own HTTP/1.1 front that look at a connection alone, without veer.
import { createServer, type AddressInfo } from 'node:net';
import type { FrontRequest, FrontResponse } from '../../src/dataplane/front.js';
import { LeanConnection } from '../../src/dataplane/http1/lean-connection.js';
import type { LeanPorts } from '../../src/dataplane/http1/lean-ports.js';

const LEAN_LIMITS = {
  keepAliveTimeout: 10_000,
  headersTimeout: 60_000,
  requestTimeout: 0,
  maxHeaderSize: 16_384,
};

/** Listens on 127.0.0.1:0; `start` answers each request when its turn comes. Resolves with the port and close(). */
export async function leanServer(
  start: (req: FrontRequest, res: FrontResponse) => void,
): Promise<{ port: number; close(): Promise<void> }> {
  const ports: LeanPorts = {
    start,
    refer: () => undefined,
    refused: () => undefined,
    closing: () => false,
    owed: () => undefined,
    forget: () => undefined,
  };
  const server = createServer((socket) => new LeanConnection(socket, LEAN_LIMITS, ports, () => performance.now()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
