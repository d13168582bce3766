// Binding a listener: resolves with the bound address, or rejects with the bind error (address in
// use, permission) instead of leaving it to an 'error' event nobody listens to. And serving connections
// a server did not accept itself.
import type { AddressInfo, Server } from 'node:net';
import { errorMessage } from '../domain/errors.js';

/** A listener that cannot bind says which field it is ("listen EADDRINUSE …" alone did not). */
export async function named<T>(field: string, listening: Promise<T>): Promise<T> {
  try {
    return await listening;
  } catch (e) {
    throw new Error(`${field}: ${errorMessage(e)}`);
  }
}

export function listenOn(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * For a server that never listens itself (a worker's: the primary hands its connections out). node:http counts its
 * connections (the clientHeader/clientRequest checks, closing idle ones) from its 'listening' event on, so such a
 * server is told once, before its first connection; one that listens has been told.
 */
export function trackConnections(server: Server): void {
  if (!server.listening && server.emit('listening')) server.removeAllListeners('listening');
}
