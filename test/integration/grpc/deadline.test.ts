// A client's own grpc-timeout never makes a healthy pool fail: any client may send a 1 ms deadline, and a
// grpc-js server then answers DEADLINE_EXCEEDED however healthy it is. Such an answer, once the caller's
// deadline had passed, is the caller's (a 4xx of the pool), never an error nor a step of the outlier
// streak; a DEADLINE_EXCEEDED the server gives well before the caller's deadline still counts.
// The client is plain HTTP/2 (no gRPC library): it never cancels, so every answer reaches veer.
import { connect } from 'node:http2';
import { describe, expect, it } from 'vitest';
import { grpc, startGrpcServer, within } from '../../helpers/grpc.js';
import { countersOf } from '../../helpers/pool-counters.js';
import { service, useHarness, waitFor, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();
const FRAME = Buffer.concat([Buffer.from([0, 0, 0, 0, 2]), Buffer.from('{}')]);

/** `n` unary calls at once with `grpc-timeout: timeout`; the grpc-status each ended with. */
async function calls(v: TestVeer, n: number, timeout: string): Promise<string[]> {
  const session = connect(`http://127.0.0.1:${v.port}`);
  session.on('error', () => undefined);
  h.defer(() => session.destroy());
  const one = () =>
    new Promise<string>((resolve) => {
      const headers = { ':method': 'POST', ':path': '/veer.test.Echo/Unary', te: 'trailers', 'grpc-timeout': timeout };
      const s = session.request({ ...headers, 'content-type': 'application/grpc' });
      let status = 'none';
      s.on('response', (r) => void (r['grpc-status'] !== undefined && (status = String(r['grpc-status']))));
      s.on('trailers', (t) => void (status = String(t['grpc-status'])));
      s.on('data', () => undefined);
      s.on('error', () => undefined);
      s.on('close', () => resolve(status));
      s.end(FRAME);
    });
  return within(Promise.all(Array.from({ length: n }, one)), `${n} calls`);
}

async function veerFor(answerMs: number, code: number | null) {
  const up = await startGrpcServer(h, {
    unary: (_c, cb) => {
      const t = setTimeout(() => (code === null ? cb(null, {}) : cb({ code, details: 'own deadline' })), answerMs);
      _c.on('cancelled', () => clearTimeout(t));
    },
  });
  const web = service('web', [up.address], [], { upstream: { protocol: 'h2c' } });
  return h.veer({ services: [{ ...web, outlier: { consecutiveErrors: 3 } }] });
}

describe("a gRPC caller's own deadline", () => {
  it('a healthy server answering after 1 ms deadlines: no error of the pool, no outlier streak', async () => {
    const v = await veerFor(20, null);
    const statuses = await calls(v, 20, '1m');
    expect(new Set(statuses)).toEqual(new Set([String(grpc.status.DEADLINE_EXCEEDED)]));
    const c = await waitFor(async () => {
      const now = await countersOf(v);
      return now.stable.requests === 20 ? now : null;
    }, 'the 20 calls to be recorded');
    expect(c.stable.errors).toBe(0);
    expect(c.failing).toEqual([]);
    expect(c.ejected).toEqual([]);
  });

  it("a server's own DEADLINE_EXCEEDED well within the caller's deadline is still the pool's error", async () => {
    const v = await veerFor(0, grpc.status.DEADLINE_EXCEEDED);
    const statuses = await calls(v, 2, '10S');
    expect(statuses).toEqual([String(grpc.status.DEADLINE_EXCEEDED), String(grpc.status.DEADLINE_EXCEEDED)]);
    const c = await waitFor(async () => {
      const now = await countersOf(v);
      return now.stable.requests === 2 ? now : null;
    }, 'the 2 calls to be recorded');
    expect(c.stable.errors).toBe(2);
    expect(c.failing).toEqual([v.plane.targets('web', 'stable')[0]?.id]);
  });
});
