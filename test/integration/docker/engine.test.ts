// The dockerode adapter against a real dockerd: idempotent run/retire (304/404/409 paths, restart
// policy, AutoRemove), the event stream (up/changed/down, reconnect with replay and de-duplication),
// templates and pulls, and the transports (unix, tcp, tls) through proxies this file starts.
// Skipped when no engine answers, unless VEER_REQUIRE_DOCKER=1.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { ContainerCreateOptions } from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerOptions, type EndpointConfig } from '../../../src/docker/endpoint.js';
import { DockerEngine } from '../../../src/docker/engine.js';
import type { CreateSpec, EngineEvent } from '../../../src/docker/port.js';
import { docker, dockerStatus, removeContainer, restartWitness, TEST_LABEL } from '../../helpers/docker.js';
import { waitFor } from '../../helpers/process.js';
import { socketRelay } from '../../helpers/socket-relay.js';

const status = await dockerStatus();
const required = process.env.VEER_REQUIRE_DOCKER === '1';
if (!status.ok) console.warn(`[docker/engine.test] ${required ? 'FAILING' : 'skipping'}: ${status.reason}`);

const SOCKET = '/var/run/docker.sock';
const FILE_LABEL = { 'veer.testfile': 'engine' };
const RUN = randomBytes(3).toString('hex');
const LABELS = { ...TEST_LABEL, ...FILE_LABEL, 'veer.t.run': RUN };
let seq = 0;
const uniqueName = (what: string): string => `veer-t-engine-${RUN}-${what}-${++seq}`;

function engineFor(ep: EndpointConfig): DockerEngine {
  const r = dockerOptions(ep);
  if (!r.ok) throw new Error(r.message);
  return new DockerEngine(ep.name, r.options, r.publishedHost);
}

function appSpec(
  name: string,
  over: { image?: string; labels?: Record<string, string>; host?: ContainerCreateOptions['HostConfig'] } = {},
): CreateSpec {
  return {
    options: {
      name,
      Image: over.image ?? 'veer-test-app:1',
      Env: ['PORT=8080'],
      Labels: { ...LABELS, ...over.labels },
      ExposedPorts: { '8080/tcp': {} },
      HostConfig: { PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] }, ...over.host },
    },
    extraNetworks: [],
  };
}

async function removeMine(): Promise<void> {
  const list = await docker().listContainers({ all: true, filters: { label: ['veer.testfile=engine'] } });
  await Promise.all(list.map((c) => removeContainer(c.Id)));
}

/** A TCP front for the local socket that can drop its connections and refuse new ones on demand. */
function socketProxy(makeServer: (onConn: (s: net.Socket) => void) => net.Server) {
  const relay = socketRelay(SOCKET);
  let refusing = false;
  const server = makeServer((client) => {
    if (refusing) return void client.destroy();
    relay.accept(client);
  });
  return {
    server,
    async listen(): Promise<number> {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return (server.address() as net.AddressInfo).port;
    },
    refuse(on: boolean): void {
      refusing = on;
      if (on) relay.cutAll();
    },
    close: (): Promise<void> => {
      relay.cutAll();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** A unix socket that hangs up on every connection, counting them (the reconnect attempts of a watch). */
async function hangUpSocket(file: string): Promise<{ readonly count: number; close(): Promise<void> }> {
  let count = 0;
  const server = net.createServer((s) => {
    count++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(file, r));
  return {
    get count() {
      return count;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function recorder() {
  const events: EngineEvent[] = [];
  const changed = (id: string, action: string): number =>
    events.filter((e) => e.type === 'changed' && e.id === id && e.action === action).length;
  const count = (type: EngineEvent['type']): number => events.filter((e) => e.type === type).length;
  return { events, listener: (e: EngineEvent) => void events.push(e), changed, count };
}

describe.skipIf(!status.ok && !required)('DockerEngine (real dockerd)', () => {
  let local: DockerEngine;

  beforeAll(async () => {
    if (!status.ok) throw new Error(status.reason);
    await removeMine();
    local = engineFor({ name: 'local', host: `unix://${SOCKET}` });
  });

  afterAll(async () => {
    local?.close();
    if (status.ok) await removeMine();
  });

  it('lists only containers carrying every given label', async () => {
    const group = `g-${RUN}`;
    const a = await local.run(appSpec(uniqueName('list-a'), { labels: { 'veer.t.group': group, 'veer.t.role': 'a' } }));
    const b = await local.run(appSpec(uniqueName('list-b'), { labels: { 'veer.t.group': group, 'veer.t.role': 'b' } }));
    const both = await local.list({ all: false, labels: { 'veer.t.group': group } });
    expect(both.map((v) => v.id).sort()).toEqual([a.id, b.id].sort());
    expect(both.every((v) => v.endpoint === 'local' && v.running)).toBe(true);
    const onlyA = await local.list({ all: true, labels: { 'veer.t.group': group, 'veer.t.role': 'a' } });
    expect(onlyA.map((v) => v.name)).toEqual([a.name]);
    expect(await local.list({ all: true, labels: { 'veer.t.group': `${group}-none` } })).toEqual([]);
  });

  it('inspect of a missing container is null', async () => {
    expect(await local.inspect(randomBytes(32).toString('hex'))).toBeNull();
    expect(await local.inspect(uniqueName('never-created'))).toBeNull();
  });

  it('run is idempotent by name and publishes on 127.0.0.1', async () => {
    const spec = appSpec(uniqueName('idem'));
    const first = await local.run(spec);
    const second = await local.run(spec);
    expect(second.id).toBe(first.id);
    expect(first.running).toBe(true);
    expect(first.name).toBe(spec.options.name);
    expect(first.ports['8080/tcp']?.[0]?.hostIp).toBe('127.0.0.1');
    expect(first.ports['8080/tcp']?.[0]?.hostPort).toBeGreaterThan(0);
    expect(
      await local
        .list({ all: true, labels: { 'veer.t.run': RUN } })
        .then((l) => l.filter((v) => v.name === spec.options.name)),
    ).toHaveLength(1);
    // The same name with another image is not "the same spec": refuse rather than adopt it.
    await expect(local.run({ ...spec, options: { ...spec.options, Image: 'veer-test-app:2' } })).rejects.toThrow(
      /is taken by a container of image veer-test-app:1/,
    );
  });

  it('connects extra networks before start, and again on a re-run', async () => {
    const netName = uniqueName('net');
    await docker().createNetwork({ Name: netName, Labels: LABELS });
    try {
      const spec = { ...appSpec(uniqueName('nets')), extraNetworks: [{ name: netName, aliases: ['web-canary'] }] };
      const v = await local.run(spec);
      expect(Object.keys(v.networks).sort()).toEqual(['bridge', netName].sort());
      expect((await local.run(spec)).id).toBe(v.id);
      await local.retire(v.id, { stopTimeoutS: 1 });
    } finally {
      await docker()
        .getNetwork(netName)
        .remove()
        .catch(() => undefined);
    }
  });

  it('retires a running container ("removed"), then reports it "gone"', async () => {
    const v = await local.run(appSpec(uniqueName('retire')));
    expect(await local.retire(v.id, { stopTimeoutS: 2 })).toBe('removed');
    expect(await local.inspect(v.id)).toBeNull();
    expect(await local.retire(v.id, { stopTimeoutS: 2 })).toBe('gone');
  });

  it("removes the anonymous volumes of a container only when asked (veer's own clones)", async () => {
    const anonymous = async (id: string): Promise<string[]> =>
      ((await docker().getContainer(id).inspect()).Mounts ?? [])
        .filter((m) => m.Type === 'volume')
        .map((m) => m.Name as string);
    const volumeExists = async (name: string): Promise<boolean> =>
      docker()
        .getVolume(name)
        .inspect()
        .then(
          () => true,
          () => false,
        );
    const withVolume = (what: string): CreateSpec => {
      const spec = appSpec(uniqueName(what));
      spec.options.Volumes = { '/data': {} };
      return spec;
    };
    const kept = await local.run(withVolume('vol-keep'));
    const gone = await local.run(withVolume('vol-drop'));
    const [keptVol] = await anonymous(kept.id);
    const [goneVol] = await anonymous(gone.id);
    expect(keptVol && goneVol).toBeTruthy();
    expect(await local.retire(kept.id, { stopTimeoutS: 2 })).toBe('removed');
    expect(await local.retire(gone.id, { stopTimeoutS: 2, volumes: true })).toBe('removed');
    expect(await volumeExists(keptVol as string)).toBe(true);
    expect(await volumeExists(goneVol as string)).toBe(false);
    await docker()
      .getVolume(keptVol as string)
      .remove();
  });

  it('retires an already stopped container (stop answers 304)', async () => {
    const v = await local.run(appSpec(uniqueName('stopped')));
    await docker().getContainer(v.id).stop({ t: 1 });
    expect((await local.inspect(v.id))?.running).toBe(false);
    expect(await local.retire(v.id, { stopTimeoutS: null })).toBe('removed');
    expect(await local.inspect(v.id)).toBeNull();
  });

  it('retires a restart-always container for good', async () => {
    const labels = { 'veer.t.case': `always-${RUN}` };
    const v = await local.run(
      appSpec(uniqueName('always'), { labels, host: { RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } } }),
    );
    expect(v.restartPolicy).toBe('always');
    expect(await local.retire(v.id, { stopTimeoutS: 1 })).toBe('removed');
    expect(await local.list({ all: true, labels })).toEqual([]);
    // The restart manager keeps working on a crashing restart-always container meanwhile: five
    // restarts of it (a few seconds of back-off) without the retired one coming back.
    const witness = await restartWitness({ ...FILE_LABEL, 'veer.t.run': RUN });
    try {
      await witness.restarts(5);
    } finally {
      await witness.remove();
    }
    expect(await local.list({ all: true, labels })).toEqual([]);
  }, 40_000);

  it('retires an AutoRemove container without tripping over the engine removing it', async () => {
    const v = await local.run(appSpec(uniqueName('autorm'), { host: { AutoRemove: true } }));
    expect(v.autoRemove).toBe(true);
    const result = await local.retire(v.id, { stopTimeoutS: 1 });
    expect(['removed', 'gone']).toContain(result);
    expect(await local.inspect(v.id)).toBeNull();
    expect(await local.retire(v.id, { stopTimeoutS: 1 })).toBe('gone');
  });

  it('two concurrent retires of one container both succeed, and only one removes it', async () => {
    for (const host of [{}, { AutoRemove: true }]) {
      const v = await local.run(appSpec(uniqueName('race'), { host }));
      const results = await Promise.all([
        local.retire(v.id, { stopTimeoutS: 1 }),
        local.retire(v.id, { stopTimeoutS: 1 }),
      ]);
      expect(results.filter((r) => r === 'removed').length).toBeLessThanOrEqual(1);
      expect(results.every((r) => r === 'removed' || r === 'gone')).toBe(true);
      expect(await local.inspect(v.id)).toBeNull();
    }
  });

  it('returns the last lines a container wrote', async () => {
    const v = await local.run({
      ...appSpec(uniqueName('logs')),
      options: { ...appSpec('x').options, name: uniqueName('logs'), Env: ['PORT=notaport'] },
    });
    await waitFor(async () => (await local.inspect(v.id))?.running === false, {
      timeoutMs: 10_000,
      what: 'the bad-port app to exit',
    });
    const logs = await local.logs(v.id, 20);
    expect(logs.length).toBeGreaterThan(0);
    // Demultiplexed: no 8-byte frame headers (they start with \u0001 or \u0002 and NULs).
    expect(logs).not.toMatch(/[\u0000-\u0002]\u0000\u0000\u0000/);
    expect(await local.logs(randomBytes(32).toString('hex'), 5)).toBe('');
  });

  it('watch reports up, then start and health_status: healthy', async () => {
    const rec = recorder();
    const stop = local.watch(rec.listener);
    try {
      await waitFor(() => rec.count('up') === 1, { timeoutMs: 5_000, what: 'up' });
      const v = await local.run(appSpec(uniqueName('health'), { image: 'veer-test-app:health' }));
      await waitFor(() => rec.changed(v.id, 'start') === 1, { timeoutMs: 5_000, what: 'start event' });
      await waitFor(() => rec.changed(v.id, 'health_status: healthy') >= 1, {
        timeoutMs: 20_000,
        what: 'healthy event',
      }).catch((e: unknown) => {
        // Docker's own record of the probes (exit codes, output, timings) says why none passed.
        const health = execFileSync('docker', ['inspect', '-f', '{{json .State.Health}}', v.id], { timeout: 10_000 });
        throw new Error(`${String(e)}; State.Health: ${health.toString().slice(0, 1_500)}`);
      });
      expect((await local.inspect(v.id))?.health).toBe('healthy');
      expect(rec.count('down')).toBe(0);
    } finally {
      stop();
    }
  });

  it('template returns both images; a missing image fails clearly within a bound', async () => {
    const v = await local.run(appSpec(uniqueName('tmpl')));
    const t = await local.template(v.id, 'veer-test-app:2');
    expect(t.container.Id).toBe(v.id);
    expect(t.oldImage?.env).toContain('VERSION=1');
    expect(t.newImage.env).toContain('VERSION=2');
    const started = Date.now();
    await expect(local.template(v.id, '127.0.0.1:1/nope:1')).rejects.toThrow(
      /image 127\.0\.0\.1:1\/nope:1 is not on endpoint "local" and could not be pulled: .*(refused|127\.0\.0\.1:1)/,
    );
    expect(Date.now() - started).toBeLessThan(25_000);
    await expect(local.template(randomBytes(32).toString('hex'), 'veer-test-app:2')).rejects.toThrow(
      /docker endpoint "local": no such container [0-9a-f]{12}/,
    );
  });

  it('an endpoint at a missing socket is unreachable; its watch reports down once, retries, and stops', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'veer-engine-'));
    const ghost = engineFor({ name: 'ghost', host: `unix://${dir}/docker.sock` });
    const witness = engineFor({ name: 'witness', host: `unix://${dir}/witness.sock` });
    const sockets: Array<{ close(): Promise<void> }> = [];
    try {
      await expect(ghost.list({ all: true })).rejects.toThrow(
        /^docker endpoint "ghost" \(unix:\/\/\/.*docker\.sock\) is unreachable: connect ENOENT/,
      );
      const rec = recorder();
      const stop = ghost.watch(rec.listener);
      await waitFor(() => rec.count('down') === 1, { timeoutMs: 5_000, what: 'down' });
      const down = rec.events.find((e) => e.type === 'down');
      expect(down?.type === 'down' && down.error).toMatch(/unreachable: connect ENOENT/);
      // From here on the socket exists but hangs up at once, so every reconnect attempt is counted.
      const tries = await hangUpSocket(`${dir}/docker.sock`);
      sockets.push(tries);
      await waitFor(() => tries.count >= 2, { timeoutMs: 5_000, what: 'two reconnect attempts' });
      expect(rec.count('down')).toBe(1);
      expect(rec.count('up')).toBe(0);
      stop();
      const n = rec.events.length;
      const triedAtStop = tries.count;
      // Its attempts so far: the first (ENOENT) and those the socket saw.
      const attempts = 1 + triedAtStop;
      // A watch started after the stop follows the same back-off: once it has tried more often than
      // the stopped one had, the stopped one would have tried again had it not stopped.
      const witnessTries = await hangUpSocket(`${dir}/witness.sock`);
      sockets.push(witnessTries);
      const stopWitness = witness.watch(() => undefined);
      await waitFor(() => witnessTries.count > attempts, { timeoutMs: 10_000, what: 'the witness to retry' });
      stopWitness();
      expect(tries.count).toBe(triedAtStop);
      expect(rec.events.length).toBe(n);
    } finally {
      ghost.close();
      witness.close();
      await Promise.all(sockets.map((s) => s.close()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('over tcp:// (a TCP proxy to the local socket)', () => {
    const proxy = socketProxy((onConn) => net.createServer(onConn));
    let remote: DockerEngine;

    beforeAll(async () => {
      const port = await proxy.listen();
      remote = engineFor({ name: 'tcp', host: `tcp://127.0.0.1:${port}` });
    });
    afterAll(async () => {
      remote?.close();
      await proxy.close();
    });

    it('lists the same containers as the socket', async () => {
      await local.run(appSpec(uniqueName('tcp-list')));
      const viaSocket = await local.list({ all: true, labels: { 'veer.t.run': RUN } });
      const viaTcp = await remote.list({ all: true, labels: { 'veer.t.run': RUN } });
      expect(viaSocket.length).toBeGreaterThan(0);
      expect(viaTcp.map((v) => v.id).sort()).toEqual(viaSocket.map((v) => v.id).sort());
      expect(viaTcp.every((v) => v.endpoint === 'tcp')).toBe(true);
    });

    it('watch survives a dropped stream: down, up again, missed events replayed once', async () => {
      const rec = recorder();
      const stop = remote.watch(rec.listener);
      try {
        await waitFor(() => rec.count('up') === 1, { timeoutMs: 5_000, what: 'up' });
        const a = await local.run(appSpec(uniqueName('replay-a')));
        await waitFor(() => rec.changed(a.id, 'start') === 1, { timeoutMs: 5_000, what: 'start of a' });
        proxy.refuse(true);
        await waitFor(() => rec.count('down') === 1, { timeoutMs: 5_000, what: 'down' });
        const b = await local.run(appSpec(uniqueName('replay-b')));
        proxy.refuse(false);
        await waitFor(() => rec.count('up') === 2, { timeoutMs: 10_000, what: 'up again' });
        await waitFor(() => rec.changed(b.id, 'start') === 1, { timeoutMs: 5_000, what: 'replayed start of b' });
        // Events come in order: once a later container's start has arrived live, a second delivery of
        // a's or b's would have come before it.
        const c = await local.run(appSpec(uniqueName('replay-c')));
        await waitFor(() => rec.changed(c.id, 'start') === 1, { timeoutMs: 5_000, what: 'start of c' });
        expect(rec.changed(a.id, 'start')).toBe(1);
        expect(rec.changed(a.id, 'create')).toBeLessThanOrEqual(1);
        expect(rec.changed(b.id, 'start')).toBe(1);
        expect(rec.count('down')).toBe(1);
      } finally {
        proxy.refuse(false);
        stop();
      }
    }, 30_000);
  });

  describe('over tcp:// with TLS (client certificate required)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'veer-engine-tls-'));
    const f = (name: string): string => path.join(dir, name);
    let proxy: ReturnType<typeof socketProxy>;
    let port = 0;

    beforeAll(async () => {
      makeCertificates(dir);
      const read = (name: string): Buffer => readFileSync(f(name));
      proxy = socketProxy((onConn) =>
        tls.createServer(
          {
            key: read('server-key.pem'),
            cert: read('server.pem'),
            ca: read('ca.pem'),
            requestCert: true,
            rejectUnauthorized: true,
          },
          onConn,
        ),
      );
      proxy.server.on('tlsClientError', () => undefined);
      port = await proxy.listen();
    });
    afterAll(async () => {
      await proxy?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('lists through ca/cert/key, and is unreachable without the client certificate', async () => {
      const secure = engineFor({
        name: 'tls',
        host: `tcp://127.0.0.1:${port}`,
        ca: f('ca.pem'),
        cert: f('client.pem'),
        key: f('client-key.pem'),
      });
      const anonymous = engineFor({ name: 'tls-anon', host: `tcp://127.0.0.1:${port}`, ca: f('ca.pem') });
      try {
        await local.run(appSpec(uniqueName('tls-list')));
        const viaTls = await secure.list({ all: true, labels: { 'veer.t.run': RUN } });
        const viaSocket = await local.list({ all: true, labels: { 'veer.t.run': RUN } });
        expect(viaTls.map((v) => v.id).sort()).toEqual(viaSocket.map((v) => v.id).sort());
        await expect(anonymous.list({ all: true })).rejects.toThrow(
          /^docker endpoint "tls-anon" \(tcp:\/\/127\.0\.0\.1:\d+\) is unreachable: /,
        );
      } finally {
        secure.close();
        anonymous.close();
      }
    });
  });
});

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by that CA. */
function makeCertificates(dir: string): void {
  const ssl = (args: string[]): void =>
    void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe', timeout: 20_000 });
  ssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca-key.pem',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=veer-test-ca',
  ]);
  for (const [who, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    ssl([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${who}-key.pem`,
      '-out',
      `${who}.csr`,
      '-subj',
      `/CN=veer-test-${who}`,
    ]);
    writeFileSync(path.join(dir, `${who}.ext`), `${ext}\n`);
    ssl([
      'x509',
      '-req',
      '-in',
      `${who}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-out',
      `${who}.pem`,
      '-days',
      '2',
      '-extfile',
      `${who}.ext`,
    ]);
  }
}
