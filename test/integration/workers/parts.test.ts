// The rest of veer with `workers: 2`: SIGUSR1 reaches every worker's access log, HTTPS is served by
// the workers from the configured certificate files, and a rollout's drain waits on every worker.
import { existsSync, renameSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { accessLines, accessLogFile, waitForLines } from '../../helpers/access-lines.js';
import { testCa } from '../../helpers/certs.js';
import { freePort, waitFor } from '../../helpers/process.js';
import { https1, http2 } from '../../helpers/tls-client.js';
import { api, startWorkersVeer, WORKERS_TEST_MS } from '../../helpers/workers.js';
import { http, service, useHarness } from '../../helpers/veer.js';

const h = useHarness();
const ca = testCa();
afterAll(() => ca.remove());

async function send(url: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await http(`${url}/n${i}`)).headers['x-request-id'] as string);
  return ids;
}

describe('workers: signals, TLS, drains', { timeout: WORKERS_TEST_MS }, () => {
  it('SIGUSR1 to the primary reopens every worker access log file', async () => {
    const up = await h.upstream('stable');
    const file = accessLogFile(h);
    const v = await startWorkersVeer(h, { services: [service('web', [up.address])], accessLog: { output: file } });
    const first = await send(v.dataUrl, 6);
    await waitForLines(file, 6);
    renameSync(file, `${file}.1`);
    v.child.kill('SIGUSR1');
    await waitFor(() => existsSync(file), 'the access log opened again at its path');
    const after = await send(v.dataUrl, 8);
    await waitForLines(file, 8);
    expect(new Set(accessLines(`${file}.1`).map((l) => l.requestId))).toEqual(new Set(first));
    // Both workers write to the new file (requests alternate between them): every line, once.
    expect(new Set(accessLines(file).map((l) => l.requestId))).toEqual(new Set(after));
  });

  it('the workers serve HTTPS (HTTP/1.1 and h2) with the configured certificate files', async () => {
    const up = await h.upstream('secure-upstream');
    const pair = ca.issue(['app.test']);
    const tlsPort = await freePort();
    const v = await startWorkersVeer(h, {
      services: [{ ...service('web', [up.address]), match: { hosts: ['app.test'], pathPrefix: '/' } }],
      tls: { listen: `127.0.0.1:${tlsPort}`, certificates: [pair], redirect: false },
    });
    for (let i = 0; i < 4; i++) {
      const r = await https1({ port: tlsPort, name: 'app.test', ca: ca.caPem });
      expect([r.status, r.text, r.served]).toEqual([200, 'secure-upstream', 'DNS:app.test']);
    }
    const h2 = await http2({ port: tlsPort, name: 'app.test', ca: ca.caPem });
    expect([h2.status, h2.text, h2.protocol]).toEqual([200, 'secure-upstream', 'h2']);
    expect((await http(`${v.dataUrl}/`, { headers: { host: 'app.test' } })).text).toBe('secure-upstream');
  });

  it("the primary's health checks decide for every worker (they run none of their own)", async () => {
    let sick = true;
    const health = (name: string, failing: () => boolean) => ({
      handler: (req: IncomingMessage, res: ServerResponse) => {
        const bad = req.url === '/health' && failing();
        res.writeHead(bad ? 500 : 200, { 'x-upstream': name }).end(name);
      },
    });
    const a = await h.upstream(
      'a',
      health('a', () => false),
    );
    const b = await h.upstream(
      'b',
      health('b', () => sick),
    );
    const healthCheck = {
      path: '/health',
      interval: '200ms',
      timeout: '1s',
      healthyThreshold: 1,
      unhealthyThreshold: 1,
    };
    const v = await startWorkersVeer(h, { services: [service('web', [a.address, b.address], [], { healthCheck })] });
    const spread = async (n: number): Promise<Set<string>> => {
      const seen = new Set<string>();
      for (let i = 0; i < n; i++) seen.add((await http(`${v.dataUrl}/x`)).text);
      return seen;
    };
    expect(await spread(12)).toEqual(new Set(['a']));
    sick = false;
    await waitFor(async () => (await spread(12)).size === 2, { what: 'b healthy on every worker', timeoutMs: 10_000 });
    sick = true;
    await waitFor(async () => (await spread(12)).size === 1, { what: 'b out again', timeoutMs: 10_000 });
    expect(await spread(12)).toEqual(new Set(['a']));
  });

  it('a reload that moves `listen` moves every worker: the new port serves, the old one refuses', async () => {
    const up = await h.upstream('web-upstream');
    const v = await startWorkersVeer(h, { services: [service('web', [up.address])] });
    const port = await freePort();
    await v.write({ workers: 2, listen: `127.0.0.1:${port}`, services: [service('web', [up.address])] });
    v.child.kill('SIGHUP');
    await waitFor(async () => (await http(`http://127.0.0.1:${port}/`).catch(() => null))?.text === 'web-upstream', {
      what: 'the new listener',
      timeoutMs: 10_000,
    });
    for (let i = 0; i < 6; i++) expect((await http(`http://127.0.0.1:${port}/`)).text).toBe('web-upstream');
    await waitFor(
      async () =>
        await http(v.dataUrl).then(
          () => false,
          (e: { code?: string }) => e.code === 'ECONNREFUSED',
        ),
      {
        what: 'the old port refused',
        timeoutMs: 5_000,
      },
    );
  });

  it('an abort drains the canary on every worker: a slow canary request in flight still ends with 200', async () => {
    const stable = await h.upstream('stable');
    const canary = await h.upstream('canary', { delayMs: 1_500 });
    const policy = { steps: [100], stepInterval: '1m', drainTimeout: '10s' };
    const v = await startWorkersVeer(h, { services: [service('web', [stable.address], [], { rollout: policy })] });
    const started = await api(v, 'POST', '/v1/services/web/rollouts', { canary: { targets: [canary.address] } });
    expect(started.status, JSON.stringify(started.json)).toBe(201);
    const slow = http(`${v.dataUrl}/slow`, { timeoutMs: 15_000 });
    await waitFor(() => canary.requests.some((r) => r.url === '/slow'), { what: 'the slow request at the canary' });
    expect((await api(v, 'POST', '/v1/services/web/rollout/abort', {})).status).toBe(200);
    // Out of routing at once on every worker, while the in-flight request is waited for.
    for (let i = 0; i < 4; i++) expect((await http(`${v.dataUrl}/after`)).text).toBe('stable');
    const r = await slow;
    expect([r.status, r.text]).toEqual([200, 'canary']);
    await waitFor(
      async () =>
        (await api<{ rollout: { phase: string } }>(v, 'GET', '/v1/services/web')).json.rollout.phase === 'aborted',
      { what: 'the abort to finish', timeoutMs: 15_000 },
    );
  });
});
