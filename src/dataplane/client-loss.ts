// What an answer's client left behind in veer: read when its HTTP/1.1 socket errs (a reset) or its HTTP/2
// stream is aborted, where the buffers are still counted; at the 'close' they are dropped (node:net always,
// node:http2 on Node 26). Watched only once a client is behind (most never are): nothing per answer.
import type { Socket } from 'node:net';
import type { FrontResponse } from './front.js';
import type { H2Response } from './h2-response.js';

/** Calls `note` when `res`'s connection or stream breaks; the socket's listener goes with the answer's close. */
export function onClientLoss(res: FrontResponse, h2: H2Response | null, note: () => void): void {
  if (h2 !== null) return void h2.stream.once('aborted', note);
  const socket = (res.req as { socket?: Socket } | undefined)?.socket;
  if (socket === undefined) return;
  socket.once('error', note);
  res.once('close', () => void socket.off('error', note));
}
