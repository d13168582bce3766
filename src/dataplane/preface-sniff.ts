// HTTP/2 with prior knowledge (h2c) on the plain port: gRPC clients with insecure credentials and
// balancers in front open a cleartext connection with the HTTP/2 preface instead of an HTTP/1.1
// request line. A new connection's first bytes say which it is; they are put back on the socket
// before it is handed on, so either side reads the connection from its first byte.
import type { Socket } from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** true: the HTTP/2 preface; false: anything else (HTTP/1.1); null: too few bytes to tell yet. */
export function isH2Preface(seen: Buffer): boolean | null {
  const n = Math.min(seen.length, PREFACE.length);
  if (seen.compare(PREFACE, 0, n, 0, n) !== 0) return false;
  return n === PREFACE.length ? true : null;
}

/**
 * Waits (at most `timeoutMs`, the client header bound) for enough bytes to tell, then hands the socket
 * on. A client that sends nothing in time, or leaves, is closed.
 */
export function sniffPreface(socket: Socket, timeoutMs: number, then: (socket: Socket, h2: boolean) => void): void {
  sniffFirstBytes(socket, timeoutMs, isH2Preface, then);
}

/**
 * The same for any question a connection's first bytes answer: `classify` says null while it cannot tell
 * yet. The bytes seen are put back before `then`, so whoever reads the socket next reads it whole.
 */
export function sniffFirstBytes<T>(
  socket: Socket,
  timeoutMs: number,
  classify: (seen: Buffer) => T | null,
  then: (socket: Socket, kind: T) => void,
): void {
  let seen: Buffer | null = null;
  const stop = (): void => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.off('error', onError);
  };
  const onClose = (): void => stop();
  // A reset before the first byte concerns that client only; after the hand-over, its server's.
  const onError = (): void => {
    stop();
    socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    seen = seen === null ? chunk : Buffer.concat([seen, chunk]);
    const kind = classify(seen);
    if (kind === null) return;
    stop();
    socket.pause();
    socket.unshift(seen);
    then(socket, kind);
  };
  const timer = setTimeout(() => {
    stop();
    socket.destroy();
  }, timeoutMs);
  socket.on('data', onData);
  socket.on('close', onClose);
  socket.on('error', onError);
}
