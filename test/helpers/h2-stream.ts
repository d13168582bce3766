// One h2c request to a test veer, sent whole, its session closed with the test. A window of 0 (the default) is a
// client that never opens it: veer's answer waits in veer, a slow reader over HTTP/2.
import { connect, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';
import type { Harness } from './veer.js';

export function h2Request(h: Harness, port: number, headers: OutgoingHttpHeaders, window = 0): ClientHttp2Stream {
  const session = connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: window } });
  session.on('error', () => undefined);
  h.defer(() => session.destroy());
  const s = session.request(headers);
  s.on('error', () => undefined);
  s.end();
  return s;
}
