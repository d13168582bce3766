// An HTTP/1.1 client that sends its requests at once and reads nothing until the test resumes it: a slow reader
// of veer's answers, its socket closed with the test.
import { createConnection, type Socket } from 'node:net';
import type { Harness } from './veer.js';

export function stalledClient(h: Harness, port: number, requests: string): Socket {
  const s = createConnection({ host: '127.0.0.1', port });
  s.pause();
  s.on('error', () => undefined);
  s.write(requests);
  h.defer(() => s.destroy());
  return s;
}
