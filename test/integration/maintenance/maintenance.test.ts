// Maintenance (hold and page) and a service's own error pages, through real veer instances, real
// upstreams and, across two replicas, a real redis-server.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runVeer } from '../../helpers/cli.js';
import { freePort, waitFor } from '../../helpers/process.js';
import { startRedis } from '../../helpers/redis.js';
import { http, service, useHarness, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();
const HTML = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
const JSON_ACCEPT = { accept: 'application/json' };

async function pageFile(name: string, html: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'veer-pages-'));
  h.defer(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, name);
  await writeFile(path, html);
  return path;
}

async function switchMaintenance(v: TestVeer, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const r = await http(`${v.adminUrl}/v1/services/web/maintenance`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(r.status).toBe(200);
  return JSON.parse(r.text) as Record<string, unknown>;
}

const stableRequests = async (v: TestVeer): Promise<number> =>
  (JSON.parse((await http(`${v.adminUrl}/v1/services/web`)).text) as { metrics: { stable: { requests: number } } })
    .metrics.stable.requests;

describe('maintenance', () => {
  it('page: 503 with the configured page for a browser, JSON otherwise, Retry-After; never judged', async () => {
    const up = await h.upstream('app');
    const page = await pageFile('down.html', '<h1>back soon</h1>');
    const v = await h.veer({ services: [service('web', [up.address], [], { maintenance: { page } })] });
    expect((await switchMaintenance(v, { on: true, mode: 'page', retryAfter: '45s' })).mode).toBe('page');

    const html = await http(`${v.url}/`, { headers: HTML });
    expect(html.status).toBe(503);
    expect(html.headers['content-type']).toContain('text/html');
    expect(html.text).toBe('<h1>back soon</h1>');
    expect(html.headers['retry-after']).toBe('45');
    const json = await http(`${v.url}/`, { headers: JSON_ACCEPT });
    expect(json.status).toBe(503);
    expect(JSON.parse(json.text)).toMatchObject({ error: { code: 'maintenance' } });
    expect(json.headers['retry-after']).toBe('45');
    expect(up.hits).toBe(0);
    expect(await stableRequests(v)).toBe(0);

    await switchMaintenance(v, { on: false });
    expect((await http(`${v.url}/`)).text).toBe('app');
  });

  it('hold: requests wait, then go through in the order they came when released', async () => {
    const up = await h.upstream('app');
    const v = await h.veer({ services: [service('web', [up.address])], proxy: { connectionsPerTarget: 1 } });
    await switchMaintenance(v, { on: true, mode: 'hold' });
    const answers: Array<Promise<{ status: number; text: string }>> = [];
    for (const n of [1, 2, 3]) {
      answers.push(http(`${v.url}/r${n}`, { timeoutMs: 10_000 }));
      await waitFor(() => v.plane.maintenance.held === n, `request ${n} to be held`, 5_000);
    }
    expect(up.hits).toBe(0);
    await switchMaintenance(v, { on: false });
    const done = await Promise.all(answers);
    expect(done.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(up.requests.map((r) => r.url)).toEqual(['/r1', '/r2', '/r3']);
    expect(v.plane.maintenance.held).toBe(0);
  });

  it('hold is bounded: holdTimeout then 503 with Retry-After; beyond maxHeld 503 at once', async () => {
    const up = await h.upstream('app');
    const maintenance = { holdTimeout: '400ms', maxHeld: 1, retryAfter: '20s' };
    const v = await h.veer({ services: [service('web', [up.address], [], { maintenance })] });
    await switchMaintenance(v, { on: true });
    const started = Date.now();
    const first = http(`${v.url}/a`, { headers: JSON_ACCEPT });
    await waitFor(() => v.plane.maintenance.held === 1, 'the first request to be held', 5_000);
    const second = await http(`${v.url}/b`, { headers: JSON_ACCEPT });
    expect(second.status).toBe(503);
    expect(JSON.parse(second.text)).toMatchObject({ error: { code: 'maintenance_timeout' } });
    const r = await first;
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('20');
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(up.hits).toBe(0);
    expect(v.plane.maintenance.held).toBe(0);
  });

  it('survives a restart (file store)', async () => {
    const up = await h.upstream('app');
    const dir = await mkdtemp(join(tmpdir(), 'veer-state-'));
    h.defer(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'state.json');
    const state = { store: 'file', path };
    const first = await h.veer({ services: [service('web', [up.address])], state });
    await switchMaintenance(first, { on: true, mode: 'page', retryAfter: '5s' });
    await first.close();
    const second = await h.veer({ services: [service('web', [up.address])], state });
    const r = await http(`${second.url}/`);
    expect([r.status, r.headers['retry-after']]).toEqual([503, '5']);
  });

  it('two replicas on one Redis: a switch made on one applies on the other, and off releases there', async () => {
    const redis = await startRedis();
    h.defer(() => redis.stop());
    const up = await h.upstream('app');
    const state = { store: 'redis', redis: redis.url, prefix: `m${Date.now()}` };
    const a = await h.veer({ services: [service('web', [up.address])], state });
    const b = await h.veer({ services: [service('web', [up.address])], state });
    await switchMaintenance(a, { on: true, mode: 'page' });
    await waitFor(async () => (await http(`${b.url}/`)).status === 503, 'replica b to answer the page', 5_000);
    await switchMaintenance(b, { on: true, mode: 'hold' });
    await waitFor(async () => (await http(`${a.adminUrl}/v1/services/web/maintenance`)).text.includes('"hold"'), 'a');
    const held = http(`${a.url}/held`, { timeoutMs: 10_000 });
    await waitFor(() => a.plane.maintenance.held === 1, 'a request held on replica a', 5_000);
    await switchMaintenance(b, { on: false });
    expect((await held).text).toBe('app');
    expect((await http(`${b.url}/`)).status).toBe(200);
  });
});

describe('veer maintenance', () => {
  it('switches page mode on and off, and refuses a state other than on|off', async () => {
    const up = await h.upstream('app');
    const v = await h.veer({ services: [service('web', [up.address])] });
    const on = await runVeer([
      'maintenance',
      'web',
      'on',
      '--mode',
      'page',
      '--retry-after',
      '10s',
      '--admin',
      v.adminUrl,
    ]);
    expect([on.code, on.stdout.trim()]).toEqual([0, 'web: maintenance on (page)']);
    const r = await http(`${v.url}/`);
    expect([r.status, r.headers['retry-after']]).toEqual([503, '10']);
    const bad = await runVeer(['maintenance', 'web', 'on', '--mode', 'sleep', '--admin', v.adminUrl]);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--mode: expected "hold"');
    const usage = await runVeer(['maintenance', 'web', 'maybe', '--admin', v.adminUrl]);
    expect(usage.code).toBe(64);
    const off = await runVeer(['maintenance', 'web', 'off', '--admin', v.adminUrl]);
    expect([off.code, off.stdout.trim()]).toEqual([0, 'web: maintenance off']);
    expect((await http(`${v.url}/`)).status).toBe(200);
  });
});

describe('error pages', () => {
  it("502, 503 and 504: the service's page (or a built-in one) for a browser, the JSON body otherwise", async () => {
    const slow = await h.upstream('slow', { delayMs: 2_000 });
    const closed = `127.0.0.1:${await freePort()}`;
    const p502 = await pageFile('502.html', '<p>our 502</p>');
    const p504 = await pageFile('504.html', '<p>our 504</p>');
    const errorPages = { 502: p502, 504: p504 };
    const v = await h.veer({
      services: [
        service('bad', [closed], [], { match: { hosts: ['bad.test'] }, errorPages }),
        service('none', [], [], { match: { hosts: ['none.test'] }, timeouts: { waitForTarget: '0s' } }),
        service('slow', [slow.address], [], {
          match: { hosts: ['slow.test'] },
          errorPages,
          timeouts: { header: '200ms' },
        }),
      ],
    });
    const get = (host: string, accept: Record<string, string>) => http(`${v.url}/`, { headers: { host, ...accept } });
    const bad = await get('bad.test', HTML);
    expect([bad.status, bad.text]).toEqual([502, '<p>our 502</p>']);
    expect(bad.headers['content-type']).toContain('text/html');
    const none = await get('none.test', HTML);
    expect(none.status).toBe(503);
    expect(none.text).toContain('<h1>503 Service Unavailable</h1>');
    const timeout = await get('slow.test', HTML);
    expect([timeout.status, timeout.text]).toEqual([504, '<p>our 504</p>']);
    for (const host of ['bad.test', 'none.test', 'slow.test']) {
      const json = await get(host, JSON_ACCEPT);
      expect(json.headers['content-type']).toContain('application/json');
      expect(JSON.parse(json.text)).toHaveProperty('error.code');
    }
  });
});
