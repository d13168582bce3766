// Waiting for a target, and a container port's readiness: a request that finds no target it may
// use waits (bounded) for one instead of getting 503 at once, and a Docker pool's target gets no
// traffic until its port accepts a connection, and none after it refuses one until it accepts
// again. Driven on a real DataPlane with real upstream servers; the Docker side (which only writes
// the pools' addresses) is played by update(), as the routing projection does.
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DataPlane } from '../../../src/dataplane/dataplane.js';
import { silentLogger } from '../../../src/domain/log.js';
import { parseTarget, type TargetAddress } from '../../../src/domain/target.js';
import { MetricsRegistry } from '../../../src/metrics/registry.js';
import { deadPort, errorCode, http, service, testConfig, useHarness, waitFor } from '../../helpers/veer.js';

const h = useHarness();
const planes: DataPlane[] = [];
afterEach(async () => {
  for (const p of planes.splice(0)) await p.close(1_000);
});

const docker = { selector: { app: 'web' }, port: 8080 };

async function plane(
  services: unknown[],
  proxy: Record<string, unknown> = {},
): Promise<{ plane: DataPlane; url: string }> {
  const config = testConfig({ services, proxy });
  const p = new DataPlane(config, {
    clock: { now: () => Date.now() },
    random: Math.random,
    log: silentLogger,
    metrics: new MetricsRegistry(),
  });
  planes.push(p);
  p.configure(config.services);
  const a = await p.listen();
  return { plane: p, url: `http://127.0.0.1:${a.port}` };
}

const target = (s: string): TargetAddress => {
  const r = parseTarget(s);
  if (!r.ok) throw new Error(r.message);
  return r.target;
};

/** An HTTP server answering its name, listening on `port` (0: any). */
async function listenOn(name: string, port: number): Promise<Server & { port: number }> {
  const s = createServer((_req, res) => {
    res.setHeader('x-upstream', name);
    res.end(name);
  });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '127.0.0.1', resolve);
  });
  h.defer(() => new Promise<void>((r) => s.close(() => r())));
  return Object.assign(s, { port: (s.address() as AddressInfo).port });
}

describe('waiting for a target', () => {
  it('a request with no target waits and is served by the first target that appears', async () => {
    const { plane: p, url } = await plane([service('web', [], [], { timeouts: { waitForTarget: '10s' } })]);
    const up = await h.upstream('late');
    const pending = http(`${url}/x`);
    await waitFor(() => p.waiting === 1, 'the request to wait', 3_000);
    p.update('web', { stable: [target(up.address)] });
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.headers['x-upstream']).toBe('late');
    expect(p.waiting).toBe(0);
  });

  it('waits at most waitForTarget, then 503 with the reason', async () => {
    const { plane: p, url } = await plane([service('web', [], [], { timeouts: { waitForTarget: '300ms' } })]);
    const started = Date.now();
    const r = await http(`${url}/`);
    expect(r.status).toBe(503);
    expect(errorCode(r)).toBe('no_targets');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(p.waiting).toBe(0);
  });

  it('beyond proxy.maxWaitingRequests the 503 comes at once; a client that leaves stops waiting', async () => {
    const { plane: p, url } = await plane([service('web', [], [], { timeouts: { waitForTarget: '20s' } })], {
      maxWaitingRequests: 1,
    });
    const ac = new AbortController();
    const first = http(`${url}/first`, { signal: ac.signal }).catch((e: Error) => e);
    await waitFor(() => p.waiting === 1, 'the first request to wait', 3_000);
    const second = await http(`${url}/second`);
    expect(second.status).toBe(503);
    expect(p.waiting).toBe(1);
    ac.abort();
    expect(await first).toBeInstanceOf(Error);
    await waitFor(() => p.waiting === 0 && p.inFlight === 0, 'the left request to stop waiting', 3_000);
    expect(new Map(p.answers.entries()).get('client_closed')).toBe(1);
  });

  it('a request with a body waits too, and its body reaches the target', async () => {
    const { plane: p, url } = await plane([service('web', [], [], { timeouts: { waitForTarget: '10s' } })]);
    const up = await h.upstream('late');
    const pending = http(`${url}/upload`, { method: 'POST', body: 'hello' });
    await waitFor(() => p.waiting === 1, 'the request to wait', 3_000);
    p.update('web', { stable: [target(up.address)] });
    expect((await pending).status).toBe(200);
    expect(up.requests[0]?.body).toBe('hello');
  });

  it('a client that leaves mid-body while its request waits is counted once, and veer stays up', async () => {
    const { plane: p, url } = await plane([service('web', [], [], { timeouts: { waitForTarget: '10s' } })]);
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    socket.on('error', () => {});
    socket.write('POST /upload HTTP/1.1\r\nHost: a.test\r\nContent-Length: 100\r\n\r\npart of it');
    await waitFor(() => p.waiting === 1, 'the request to wait', 3_000);
    socket.destroy();
    await waitFor(() => p.waiting === 0 && p.inFlight === 0, 'the left request to stop waiting', 3_000);
    expect(new Map(p.answers.entries()).get('client_closed')).toBe(1);
    const up = await h.upstream('late');
    p.update('web', { stable: [target(up.address)] });
    expect((await http(`${url}/after`)).status).toBe(200); // still up
  });
});

describe("a Docker pool's readiness", () => {
  it('a container port that does not listen yet gets no traffic; requests wait until it accepts one', async () => {
    const { plane: p, url } = await plane([{ name: 'web', stable: { docker }, timeouts: { waitForTarget: '10s' } }]);
    const port = await deadPort();
    p.update('web', { stable: [target(`127.0.0.1:${port}`)] });
    await waitFor(() => p.targets('web', 'stable')[0]?.lastHealthError !== null, 'a first refused probe', 3_000);
    expect(p.targets('web', 'stable')[0]?.health).toBe('pending');
    const pending = http(`${url}/`);
    await waitFor(() => p.waiting === 1, 'the request to wait', 3_000);
    await listenOn('booted', port);
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.headers['x-upstream']).toBe('booted');
    expect(p.targets('web', 'stable')[0]?.health).toBe('healthy');
  });

  it('targets that refuse are taken out; the request waits for their replacements instead of 502', async () => {
    const { plane: p, url } = await plane([{ name: 'web', stable: { docker }, timeouts: { waitForTarget: '10s' } }]);
    const olds = [await listenOn('old-1', 0), await listenOn('old-2', 0)];
    p.update('web', { stable: olds.map((o) => target(`127.0.0.1:${o.port}`)) });
    await waitFor(() => p.targets('web', 'stable').every((t) => t.health === 'healthy'), 'both ready', 3_000);
    expect((await http(`${url}/`)).status).toBe(200);
    // compose stops every old container before it starts a new one; veer has not heard of it yet.
    for (const o of olds) {
      o.closeAllConnections();
      await new Promise<void>((r) => o.close(() => r()));
    }
    const pending = http(`${url}/`);
    await waitFor(() => p.waiting === 1, 'the request to wait after both refused', 3_000);
    expect(p.targets('web', 'stable').map((t) => t.health)).toEqual(['unhealthy', 'unhealthy']);
    const fresh = await h.upstream('new');
    p.update('web', { stable: [target(fresh.address)] });
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.headers['x-upstream']).toBe('new');
  });

  it('a static target is not probed: it refuses, the answer is 502 at once', async () => {
    // Were it waited for, this request would outlast the test.
    const dead = `127.0.0.1:${await deadPort()}`;
    const { plane: p, url } = await plane([service('web', [dead], [], { timeouts: { waitForTarget: '60s' } })]);
    const r = await http(`${url}/`);
    expect(r.status).toBe(502);
    expect(errorCode(r)).toBe('upstream_unreachable');
    expect(p.targets('web', 'stable')[0]?.health).toBe('unchecked');
  });
});
