// veer's own end of a test client's TCP connection (the test runs veer in its process): what left veer for the
// kernel on it. Found through node:net's 'net.server.socket' channel, which every accepted connection is told to.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import type { Harness } from './veer.js';

export interface VeerSide {
  /** veer's socket for the client whose local port is `port` (once it was accepted). */
  of(port: number): Socket | undefined;
}

/** Listens until the test ends. */
export function veerSides(h: Harness): VeerSide {
  const byPort = new Map<number, Socket>();
  const onSocket = (m: unknown): void => {
    const socket = (m as { socket: Socket }).socket;
    if (socket.remotePort !== undefined) byPort.set(socket.remotePort, socket);
  };
  subscribe('net.server.socket', onSocket);
  h.defer(() => unsubscribe('net.server.socket', onSocket));
  return { of: (port) => byPort.get(port) };
}

/** What libuv's handle of a socket says (node:net keeps it private; it is what the socket's counts are made of). */
interface StreamHandle {
  readonly bytesWritten: number;
  readonly writeQueueSize: number;
}

/**
 * Bytes veer's socket has handed to its kernel, while it is open: those written by its handle, less those still in
 * the handle's queue (libuv writes them as the kernel takes them). Read while its client takes nothing, it stays so.
 */
export function inKernel(s: Socket): number {
  const handle = (s as unknown as { _handle: StreamHandle | null })._handle;
  if (handle === null) throw new Error("veer's socket is closed already");
  return handle.bytesWritten - handle.writeQueueSize;
}
