// The HTTP/2 rapid-reset guard counts the client's resets only. An upstream that breaks off its answers makes
// veer reset each of their streams (INTERNAL_ERROR, so the client never takes a cut answer for whole): those
// are veer's own, and an ordinary client asking for many of them keeps its connection. A client's own flood of
// resets still loses it (test/integration/tls/http2.test.ts, "rapid reset").
import { connect, constants } from 'node:http2';
import { describe, expect, it } from 'vitest';
import { service, useHarness } from '../../helpers/veer.js';

const h = useHarness();

describe('streams veer resets itself', () => {
  it('do not count as the client resetting them: no GOAWAY, no warning, every stream answered', async () => {
    // Headers and a tenth of the body, then the connection breaks (a target crashing mid-answer).
    const up = await h.server((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('x'.repeat(10));
      setTimeout(() => res.socket?.destroy(), 5);
    });
    const warnings: string[] = [];
    const log = { log: (level: string, msg: string) => void (level === 'warn' && warnings.push(msg)) };
    const v = await h.veer({ services: [service('web', [up.address])], log });
    const session = connect(`http://127.0.0.1:${v.port}`);
    session.on('error', () => undefined);
    h.defer(() => session.destroy());
    let goaway: number | null = null;
    session.on('goaway', (code: number) => (goaway = code));
    const codes: number[] = [];
    // Beyond the default burst of 200 (at 50 per second), were they the client's.
    for (let batch = 0; batch < 4; batch++) {
      await Promise.all(
        Array.from(
          { length: 80 },
          () =>
            new Promise<void>((resolve) => {
              const s = session.request({ ':path': '/' });
              s.on('data', () => undefined);
              s.on('error', () => undefined);
              s.on('close', () => resolve(void codes.push(s.rstCode)));
              s.end();
            }),
        ),
      );
    }
    expect(codes).toEqual(Array.from({ length: 320 }, () => constants.NGHTTP2_INTERNAL_ERROR));
    expect(goaway).toBe(null);
    expect(session.destroyed).toBe(false);
    expect(warnings).toEqual([]);
  });
});
