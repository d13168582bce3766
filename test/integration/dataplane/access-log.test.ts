// The access log of a real veer, written to a file: the fields of an upstream answer, of veer's own
// answers (502, 503, 504), of a 404 before routing, of a client that left (499) and of a request retried
// on stable; the sample (0: only what must be written; 1: everything); the off switch.
import { describe, expect, it } from 'vitest';
import { accessLines, accessLogFile, waitForLines } from '../../helpers/access-lines.js';
import { testCa } from '../../helpers/certs.js';
import { http2 } from '../../helpers/tls-client.js';
import { http, service, useHarness, waitFor, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Every line now queued is in the file. */
const flushed = async (v: TestVeer): Promise<void> => void expect(await v.plane.accessLog.flushed()).toBe(true);

describe('access log', () => {
  it('an upstream answer: every field', async () => {
    const file = accessLogFile(h);
    const up = await h.upstream('stable', { body: 'hello world' });
    const v = await h.veer({ services: [service('web', [up.address])], accessLog: { output: file } });
    const r = await http(`${v.url}/orders?id=7`, { method: 'POST', body: 'x'.repeat(300) });
    const [line] = await waitForLines(file, 1);
    expect(line).toMatchObject({
      kind: 'access',
      requestId: r.headers['x-request-id'],
      client: '127.0.0.1',
      forwardedFor: null,
      method: 'POST',
      host: `127.0.0.1:${v.port}`,
      path: '/orders?id=7',
      status: 200,
      bytesIn: 300,
      bytesOut: 11,
      service: 'web',
      pool: 'stable',
      target: up.address,
      rolloutId: null,
      error: null,
      attempts: 1,
    });
    expect(line?.time).toMatch(ISO);
    expect(line?.upstreamMs).toEqual(expect.any(Number));
    expect(line?.durationMs as number).toBeGreaterThanOrEqual(line?.upstreamMs as number);
    expect(Object.keys(line ?? {})[0]).toBe('kind');
  });

  it('an HTTP/2 request over TLS', async () => {
    const file = accessLogFile(h);
    const ca = testCa();
    h.defer(() => ca.remove());
    const up = await h.upstream('stable');
    const v = await h.veer({
      services: [service('web', [up.address])],
      tls: { certificates: [ca.issue(['a.test'])] },
      accessLog: { output: file },
    });
    const r = await http2({ port: v.tlsPort as number, name: 'a.test', ca: ca.caPem, path: '/h2?x=1' });
    const [line] = await waitForLines(file, 1);
    expect(line).toMatchObject({
      requestId: r.headers['x-request-id'],
      method: 'GET',
      host: `a.test:${v.tlsPort as number}`,
      path: '/h2?x=1',
      status: 200,
      bytesOut: 6,
      pool: 'stable',
      error: null,
    });
  });

  it("veer's own answers: 502, 503 and 504 with their codes, and a 404 before routing", async () => {
    const file = accessLogFile(h);
    // Hangs up without an answer (502): no freed port another test could bind meanwhile.
    const broken = await h.server((req) => req.socket.destroy());
    const slow = await h.upstream('slow', { delayMs: 3_000 });
    const host = (name: string) => ({ match: { hosts: [`${name}.test`], pathPrefix: '/' } });
    const v = await h.veer({
      services: [
        service('down', [broken.address], [], host('down')),
        service('empty', [], [], host('empty')),
        service('slow', [slow.address], [], { ...host('slow'), timeouts: { header: '200ms' } }),
      ],
      proxy: { timeouts: { waitForTarget: '0s' } },
      accessLog: { output: file },
    });
    const statuses: number[] = [];
    for (const name of ['down', 'empty', 'slow', 'nowhere'])
      statuses.push((await http(`${v.url}/p`, { headers: { host: `${name}.test` } })).status);
    expect(statuses).toEqual([502, 503, 504, 404]);
    const lines = await waitForLines(file, 4);
    const pick = (l: Record<string, unknown>) => [l.service, l.status, l.error, l.pool, l.target, l.upstreamMs];
    expect(lines.map(pick)).toEqual([
      ['down', 502, 'upstream_unreachable', 'stable', broken.address, null],
      ['empty', 503, 'no_targets', null, null, null],
      ['slow', 504, 'upstream_timeout', 'stable', slow.address, null],
      [null, 404, 'no_route', null, null, null],
    ]);
    // Veer's JSON body is what was written.
    expect(lines.every((l) => (l.bytesOut as number) > 0)).toBe(true);
  });

  it('a client that leaves before the answer is a 499 client_closed', async () => {
    const file = accessLogFile(h);
    const up = await h.upstream('stable', { delayMs: 5_000 });
    const v = await h.veer({ services: [service('web', [up.address])], accessLog: { output: file } });
    const leave = new AbortController();
    const r = http(`${v.url}/slow`, { signal: leave.signal }).catch(() => null);
    await waitFor(() => up.requests.length === 1 || up.hits === 1, 'the upstream to hold the request');
    leave.abort();
    await r;
    const [line] = await waitForLines(file, 1);
    expect(line).toMatchObject({
      status: 499,
      error: 'client_closed',
      service: 'web',
      pool: 'stable',
      upstreamMs: null,
    });
  });

  it('a canary failure retried on stable: two attempts, the stable answer', async () => {
    const file = accessLogFile(h);
    const [stable, canary] = [await h.upstream('stable'), await h.upstream('canary', { status: 500 })];
    const v = await h.veer({
      services: [
        service('web', [stable.address], [canary.address], { weight: 100, rollout: { retryCanaryOnStable: true } }),
      ],
      accessLog: { output: file },
    });
    const r = await http(`${v.url}/`);
    expect(r.text).toBe('stable');
    const [line] = await waitForLines(file, 1);
    expect(line).toMatchObject({ status: 200, attempts: 2, pool: 'stable', target: stable.address, error: null });
  });

  it('sample 0 writes only errors and veer answers; sample 1 everything', async () => {
    for (const [sample, expected] of [
      [0, [404, 500]],
      [1, [200, 200, 200, 404, 500]],
    ] as const) {
      const file = accessLogFile(h);
      const up = await h.upstream('stable', { status: (n) => (n === 4 ? 500 : 200) });
      const v = await h.veer({
        services: [{ ...service('web', [up.address]), match: { hosts: ['web.test'], pathPrefix: '/' } }],
        accessLog: { output: file, sample },
      });
      for (let i = 0; i < 3; i++) await http(`${v.url}/`, { headers: { host: 'web.test' } });
      await http(`${v.url}/`, { headers: { host: 'other.test' } });
      await http(`${v.url}/`, { headers: { host: 'web.test' } });
      await waitForLines(file, expected.length);
      await flushed(v);
      expect(accessLines(file).map((l) => l.status)).toEqual(expected);
      expect(v.plane.accessLog.counts()).toEqual({ written: expected.length, dropped: 0 });
      await v.close();
    }
  });

  it('enabled: false writes nothing, and request ids still work', async () => {
    const file = accessLogFile(h);
    const up = await h.upstream('stable');
    const v = await h.veer({ services: [service('web', [up.address])], accessLog: { enabled: false, output: file } });
    const r = await http(`${v.url}/`);
    expect(r.headers['x-request-id']).toEqual(expect.any(String));
    await http(`${v.url}/`, { headers: { host: '' } });
    expect(v.plane.accessLog.enabled).toBe(false);
    expect(await v.plane.accessLog.flushed()).toBe(true);
    expect(accessLines(file)).toEqual([]);
    const metrics = await http(`${v.adminUrl}/metrics`);
    expect(metrics.text).toContain('veer_access_log_lines_total 0');
  });
});
