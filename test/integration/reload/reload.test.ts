// Config reload on a real `veer start` child process: SIGHUP and `veer reload` re-read the file;
// open connections and in-flight requests survive; services come and go; an invalid file changes
// nothing and `veer reload` exits 2 naming the field.
import { writeFile } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runVeer } from '../../helpers/cli.js';
import { freePort, waitFor } from '../../helpers/process.js';
import { startVeerChild } from '../../helpers/veer-child.js';
import { http, service, useHarness } from '../../helpers/veer.js';

const h = useHarness();

/** One client connection kept alive across requests: what it received, and whether it closed. */
function keepAlive(port: number): {
  socket: Socket;
  text: () => string;
  closed: () => boolean;
  get(path: string): void;
} {
  const socket = createConnection({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  let text = '';
  let closed = false;
  socket.on('data', (c: Buffer) => (text += c.toString()));
  socket.on('close', () => (closed = true));
  h.defer(() => socket.destroy());
  return {
    socket,
    text: () => text,
    closed: () => closed,
    get: (path) => socket.write(`GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`),
  };
}

const reload = (adminUrl: string, env: Record<string, string> = {}) =>
  runVeer(['reload', '--admin', adminUrl], { env });

describe('config reload', () => {
  it('SIGHUP: a keep-alive connection and a slow request survive a change of targets and timeouts', async () => {
    const alpha = await h.upstream('alpha-upstream');
    const bravo = await h.upstream('bravo-upstream');
    const v = await startVeerChild(h, { services: [service('web', [alpha.address])] });
    const conn = keepAlive(v.dataPort);
    conn.get('/first');
    await waitFor(() => conn.text().includes('alpha-upstream'), 'the first answer on the kept connection', 5_000);

    alpha.behave({ delayMs: 1_500 });
    const slow = http(`${v.dataUrl}/slow`, { timeoutMs: 10_000 });
    await waitFor(() => alpha.requests.some((r) => r.url === '/slow'), 'the slow request at alpha', 5_000);
    await v.write({ services: [service('web', [bravo.address], [], { timeouts: { header: '3s' } })] });
    v.child.kill('SIGHUP');
    await waitFor(async () => (await http(`${v.dataUrl}/probe`)).text === 'bravo-upstream', 'routing to bravo', 8_000);

    conn.get('/second');
    await waitFor(() => conn.text().includes('bravo-upstream'), 'the second answer on the same connection', 5_000);
    expect(conn.closed()).toBe(false);
    const r = await slow;
    expect(r.status).toBe(200);
    expect(r.text).toBe('alpha-upstream');
    expect(v.output()).toContain('config reloaded (signal)');
  });

  it("veer reload: adds and removes services, aborts the removed one's rollout, refuses an invalid file", async () => {
    const up = await h.upstream('app-upstream');
    const canary = await h.upstream('canary-upstream');
    const hosts = (name: string) => ({ match: { hosts: [`${name}.test`], pathPrefix: '/' } });
    const web = service('web', [up.address], [], hosts('web'));
    const old = service('old', [up.address], [], { ...hosts('old'), rollout: { stepInterval: '10m' } });
    const v = await startVeerChild(h, { services: [web, old] });
    const started = await http(`${v.adminUrl}/v1/services/old/rollouts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ canary: { targets: [canary.address] } }),
    });
    expect(started.status).toBe(201);

    await v.write({ services: [web, service('api', [up.address], [], hosts('api'))] });
    const r = await reload(v.adminUrl);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('added api');
    expect(r.stdout).toContain('removed old');
    const api = await http(`${v.dataUrl}/x`, { headers: { host: 'api.test' } });
    expect(api.status).toBe(200);
    const gone = await http(`${v.dataUrl}/x`, { headers: { host: 'old.test' } });
    expect(gone.status).toBe(404);
    expect((await http(`${v.adminUrl}/v1/services/old`)).status).toBe(404);
    const events = async () =>
      (
        JSON.parse((await http(`${v.adminUrl}/v1/events`, { headers: { accept: 'application/json' } })).text) as {
          events: Array<{ service: string; kind: string; message: string }>;
        }
      ).events;
    await waitFor(
      async () => (await events()).some((e) => e.service === 'old' && e.kind === 'aborted'),
      "the removed service's rollout to be aborted",
      10_000,
    );

    await v.write({
      services: [web, service('api', [up.address], [], { match: { hosts: ['api.test'] }, weight: 250 })],
    });
    const bad = await reload(v.adminUrl);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('services[1].weight');
    expect((await http(`${v.dataUrl}/x`, { headers: { host: 'api.test' } })).status).toBe(200);
    const refused = (await events()).filter((e) => e.kind === 'reload' && e.message.includes('refused'));
    expect(refused).toHaveLength(1);
    expect(v.output()).toContain('config reload refused (api)');

    // A file caught empty (being rewritten) is refused too: it would otherwise be the all-defaults config.
    await writeFile(v.file, '# being rewritten\n');
    const empty = await reload(v.adminUrl);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('the file is empty');
    expect((await http(`${v.dataUrl}/x`, { headers: { host: 'api.test' } })).status).toBe(200);
    expect((await http(`${v.adminUrl}/v1/services/web`)).status).toBe(200);
  }, 60_000); // a veer child and three CLI processes start here: 30 s was tight on a loaded machine

  it('a new admin token takes effect at once; a changed state store needs a restart', async () => {
    const up = await h.upstream('app-upstream');
    const v = await startVeerChild(h, { admin: { token: 'first-token' }, services: [service('web', [up.address])] });
    await v.write({
      admin: { token: 'second-token' },
      state: { store: 'file', path: `${v.file}.state.json` },
      services: [service('web', [up.address])],
    });
    const r = await reload(v.adminUrl, { VEER_ADMIN_TOKEN: 'first-token' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('admin token changed');
    expect(r.stdout).toContain('needs a restart (not applied): state');
    const auth = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
    expect((await http(`${v.adminUrl}/v1/services`, auth('first-token'))).status).toBe(401);
    expect((await http(`${v.adminUrl}/v1/services`, auth('second-token'))).status).toBe(200);
  });

  it('a new listen address: the new listener serves, the old refuses, its open connection answers', async () => {
    const up = await h.upstream('app-upstream');
    const v = await startVeerChild(h, { services: [service('web', [up.address])] });
    const conn = keepAlive(v.dataPort);
    conn.get('/before');
    await waitFor(() => conn.text().includes('app-upstream'), 'the first answer', 5_000);
    const moved = await freePort();
    await v.write({ listen: `127.0.0.1:${moved}`, services: [service('web', [up.address])] });
    const r = await reload(v.adminUrl);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`now listening on 127.0.0.1:${moved}`);
    expect((await http(`http://127.0.0.1:${moved}/new`)).text).toBe('app-upstream');
    await expect(http(`${v.dataUrl}/old`, { timeoutMs: 2_000 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const self = await http(`${v.adminUrl}/v1/services/web/rollouts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ canary: { targets: [`127.0.0.1:${moved}`] } }),
    });
    expect(self.status).toBe(400);
    expect(self.text).toContain('canary.targets[0]');
    const before = conn.text().length;
    conn.get('/after');
    await waitFor(() => conn.text().slice(before).includes('app-upstream'), 'an answer on the old connection', 5_000);
    expect(conn.closed()).toBe(false);
  });

  it("a reload keeps a rollout's canary as it was: no new upstream, no health verdict to pass again", async () => {
    const up = await h.upstream('app-upstream');
    const canary = await h.upstream('canary-upstream');
    // Probed at once, then every 0.5 s while pending: two passes make a target healthy, and then it is left
    // alone for 10 minutes. A target made anew by the reload would be pending (no traffic) for ≥ 0.5 s.
    const healthCheck = { path: '/health', interval: '10m', healthyThreshold: 2 };
    const web = service('web', [up.address], [], { healthCheck, rollout: { stepInterval: '10m' } });
    const v = await startVeerChild(h, { services: [web] });
    const started = await http(`${v.adminUrl}/v1/services/web/rollouts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ canary: { targets: [canary.address] } }),
    });
    expect(started.status).toBe(201);
    type Pools = { pools: Record<'stable' | 'canary', { targets: Array<{ id: string; health: string }> }> };
    const canaryHealth = async () =>
      (JSON.parse((await http(`${v.adminUrl}/v1/services/web`)).text) as Pools).pools.canary.targets.map(
        (t) => t.health,
      );
    await waitFor(async () => (await canaryHealth()).join() === 'healthy', 'the canary to pass its checks', 10_000);
    await v.write({ services: [web, service('api', [up.address], [], { match: { hosts: ['api.test'] } })] });
    const r = await reload(v.adminUrl);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('added api');
    // Its verdict carried over (the new config's health check probes it again at once, as any reload does).
    expect(await canaryHealth()).toEqual(['healthy']);
  }, 60_000);

  it("a reload that changes a service's targets under its rollout aborts it, saying why", async () => {
    const [first, second, canary] = [await h.upstream('first'), await h.upstream('second'), await h.upstream('c')];
    const web = (stable: string) => service('web', [stable], [], { rollout: { stepInterval: '10m' } });
    const v = await startVeerChild(h, { services: [web(first.address)] });
    const started = await http(`${v.adminUrl}/v1/services/web/rollouts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ canary: { targets: [canary.address] } }),
    });
    expect(started.status).toBe(201);
    await v.write({ services: [web(second.address)] });
    expect((await reload(v.adminUrl)).code).toBe(0);
    const aborted = await waitFor(
      async () => {
        const page = await http(`${v.adminUrl}/v1/events`, { headers: { accept: 'application/json' } });
        const events = (JSON.parse(page.text) as { events: Array<{ kind: string; message: string }> }).events;
        return events.find((e) => e.kind === 'rolling-back' || e.kind === 'aborted');
      },
      { what: 'the rollout aborted by the reload', timeoutMs: 10_000 },
    );
    expect(aborted.message).toContain("the service's targets changed in the config");
    for (let i = 0; i < 6; i++) expect((await http(`${v.dataUrl}/x`)).text).toBe('second');
  }, 60_000);

  it('new webhooks receive the next events; a changed health check applies to the next probes', async () => {
    const up = await h.upstream('app-upstream');
    const hooks: string[] = [];
    const hook = await h.server((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        hooks.push(body);
        res.end();
      });
    });
    const v = await startVeerChild(h, { services: [service('web', [up.address])] });
    const healthCheck = { path: '/health-probe', interval: '200ms', healthyThreshold: 1 };
    await v.write({
      notifications: { webhooks: [{ url: `http://127.0.0.1:${hook.port}/hook`, events: ['shifted'] }] },
      services: [service('web', [up.address], [], { healthCheck })],
    });
    const r = await reload(v.adminUrl);
    expect(r.stdout).toContain('webhooks changed');
    await waitFor(() => up.requests.some((q) => q.url === '/health-probe'), 'the new health check', 5_000);
    const shift = await http(`${v.adminUrl}/v1/services/web/shift`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ weight: 0 }),
    });
    expect(shift.status).toBe(200);
    await waitFor(() => hooks.some((b) => b.includes('"shifted"')), 'the webhook of the shift', 5_000);
  });

  it('reload.watch: an edit of the file is applied without a signal', async () => {
    const up = await h.upstream('app-upstream');
    const other = await h.upstream('other-upstream');
    const reloadKeys = { watch: true, debounce: '100ms' };
    const v = await startVeerChild(h, { reload: reloadKeys, services: [service('web', [up.address])] });
    await v.write({ reload: reloadKeys, services: [service('web', [other.address])] });
    await waitFor(async () => (await http(`${v.dataUrl}/`)).text === 'other-upstream', 'the watched edit', 8_000);
    expect(v.output()).toContain('config reloaded (watch)');
  });
});
