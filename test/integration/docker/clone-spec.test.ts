// cloneSpec against a real engine: the spec it computes from a running veer-test-app:1 container
// must be accepted by Docker as-is and yield a working veer-test-app:2 clone that keeps what the
// operator set (env, restart policy, loopback-only port, networks) and gets its own host port.
// Then compose v1 (Debian's docker-compose, as veer's users run it) on clones of a compose service:
// they are in the project, carry no config hash, so `up -d` recreates them from the file, and `down`
// removes them. Skipped only when no Docker engine answers (VEER_REQUIRE_DOCKER=1 turns that into a
// failure); the compose case also when docker-compose is not installed.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import type { ContainerInspectInfo } from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloneSpec } from '../../../src/docker/clone-spec.js';
import { toImageConfig as imageConfig } from '../../../src/docker/engine-view.js';
import type { CloneTemplate } from '../../../src/docker/port.js';
import { docker, dockerStatus, removeContainer, TEST_LABEL } from '../../helpers/docker.js';
import { waitFor } from '../../helpers/process.js';

const run = promisify(execFile);
const status = await dockerStatus();
const required = process.env.VEER_REQUIRE_DOCKER === '1';
if (!status.ok) console.warn(`[clone-spec.test] ${required ? 'FAILING' : 'skipping'}: ${status.reason}`);
const composeV1 = await run('docker-compose', ['version', '--short']).then(
  (r) => r.stdout.trim(),
  () => null,
);
if (status.ok && composeV1 === null) console.warn('[clone-spec.test] compose case skipped: no docker-compose');

const FILE_LABEL = { 'veer.testfile': 'docker-clone-spec' };
const suffix = `${process.pid}-${randomBytes(3).toString('hex')}`;
const NET = `veer-clone-it-${suffix}`;
const EXTRA_NET = `veer-clone-it-extra-${suffix}`;

function loopbackPort(info: ContainerInspectInfo): number {
  const binding = info.NetworkSettings.Ports['8080/tcp']?.[0];
  expect(binding?.HostIp).toBe('127.0.0.1');
  const port = Number(binding?.HostPort);
  expect(Number.isInteger(port) && port > 0).toBe(true);
  return port;
}

describe.skipIf(!status.ok && !required)('cloneSpec on a real engine', () => {
  const created: string[] = [];
  const networks: Docker.Network[] = [];
  let stableInfo: ContainerInspectInfo;

  beforeAll(async () => {
    for (const name of [NET, EXTRA_NET]) {
      networks.push(
        await docker().createNetwork({ Name: name, Driver: 'bridge', Labels: { ...TEST_LABEL, ...FILE_LABEL } }),
      );
    }
    const stable = await docker().createContainer({
      name: `veer-clone-it-stable-${suffix}`,
      Image: 'veer-test-app:1',
      Env: ['FOO=bar'],
      Labels: { ...TEST_LABEL, ...FILE_LABEL, 'com.example.owner': 'ops' },
      ExposedPorts: { '8080/tcp': {} },
      HostConfig: {
        NetworkMode: NET,
        RestartPolicy: { Name: 'unless-stopped' },
        PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
      },
      NetworkingConfig: { EndpointsConfig: { [NET]: { Aliases: ['web'] } } },
    });
    created.push(stable.id);
    await docker()
      .getNetwork(EXTRA_NET)
      .connect({ Container: stable.id, EndpointConfig: { Aliases: ['web-internal'] } });
    await stable.start();
    stableInfo = await stable.inspect();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(created.map((id) => removeContainer(id)));
    // A create that failed after the engine accepted it leaves a container we never saw an id for.
    const leftovers = await docker().listContainers({
      all: true,
      filters: { label: [`veer.testfile=${FILE_LABEL['veer.testfile']}`, `veer.clone-run=${suffix}`] },
    });
    await Promise.all(leftovers.map((c) => removeContainer(c.Id)));
    for (const n of networks) await n.remove().catch(() => undefined);
  }, 60_000);

  it('creates a clone on the new image that answers on its own loopback port, keeps operator settings', async () => {
    const [oldInfo, newInfo] = await Promise.all([
      docker().getImage('veer-test-app:1').inspect(),
      docker().getImage('veer-test-app:2').inspect(),
    ]);
    const template: CloneTemplate = {
      container: stableInfo,
      oldImage: imageConfig(oldInfo),
      newImage: imageConfig(newInfo),
    };
    const result = cloneSpec(template, {
      image: 'veer-test-app:2',
      name: `veer-clone-it-canary-${suffix}`,
      env: [],
      labels: { ...TEST_LABEL, ...FILE_LABEL, 'veer.clone-run': suffix, 'veer.rollout': 'r-it' },
    });
    if (!result.ok) throw new Error(result.error);
    expect(result.value.extraNetworks.map((n) => n.name)).toEqual([EXTRA_NET]);

    const clone = await docker().createContainer(result.value.options);
    created.push(clone.id);
    for (const extra of result.value.extraNetworks) {
      await docker()
        .getNetwork(extra.name)
        .connect({ Container: clone.id, EndpointConfig: { Aliases: extra.aliases } });
    }
    await clone.start();
    const info = await clone.inspect();

    const port = loopbackPort(info);
    expect(port).not.toBe(loopbackPort(stableInfo));
    const version = await waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1_000) });
        await res.arrayBuffer();
        return res.headers.get('x-app-version');
      },
      { timeoutMs: 15_000, intervalMs: 100, what: 'the clone to answer' },
    );
    expect(version).toBe('2');
    expect(info.Config.Env).toContain('FOO=bar');
    expect(info.Config.Env).toContain('VERSION=2');
    expect(info.Config.Env).not.toContain('VERSION=1');
    expect(info.Config.Labels).toMatchObject({ 'com.example.owner': 'ops', 'veer.rollout': 'r-it' });
    expect(info.HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
    expect(info.Config.Hostname).not.toBe(stableInfo.Config.Hostname);
    expect(Object.keys(info.NetworkSettings.Networks).sort()).toEqual([NET, EXTRA_NET].sort());
    expect(info.NetworkSettings.Networks[NET]?.Aliases).toContain('web');
    expect(info.NetworkSettings.Networks[EXTRA_NET]?.Aliases).toContain('web-internal');
  }, 60_000);
});

describe.skipIf(!status.ok || composeV1 === null)(`clones of a compose service, seen by docker-compose`, () => {
  const project = `veerclone${randomBytes(3).toString('hex')}`;
  let dir = '';
  const file = (image: string): string =>
    [
      "version: '2.4'",
      'services:',
      '  web:',
      `    image: ${image}`,
      "    ports: ['127.0.0.1::8080']",
      '    labels:',
      "      veer.test: '1'",
      `      veer.testfile: ${FILE_LABEL['veer.testfile']}`,
      '',
    ].join('\n');
  const compose = async (...args: string[]): Promise<string> =>
    (await run('docker-compose', ['-p', project, ...args], { cwd: dir, timeout: 120_000 })).stdout;
  const inProject = async (): Promise<Docker.ContainerInfo[]> =>
    docker().listContainers({ all: true, filters: { label: [`com.docker.compose.project=${project}`] } });

  /** Clones the project's one container onto veer-test-app:2 as veer would; returns the clone's id. */
  async function cloneStable(): Promise<string> {
    const [stable] = await inProject();
    if (!stable) throw new Error('no container in the project');
    const [oldInfo, newInfo] = await Promise.all([
      docker().getImage('veer-test-app:1').inspect(),
      docker().getImage('veer-test-app:2').inspect(),
    ]);
    const template = {
      container: await docker().getContainer(stable.Id).inspect(),
      oldImage: imageConfig(oldInfo),
      newImage: imageConfig(newInfo),
    };
    const labels = { 'veer.clone-run': suffix, 'veer.rollout': 'r-compose', 'veer.owner': 'it' };
    const spec = cloneSpec(template, { image: 'veer-test-app:2', name: `${project}-clone`, env: [], labels });
    if (!spec.ok) throw new Error(spec.error);
    const clone = await docker().createContainer(spec.value.options);
    await clone.start();
    return clone.id;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'veer-clone-compose-'));
    await writeFile(join(dir, 'docker-compose.yml'), file('veer-test-app:1'));
    await compose('up', '-d');
  }, 120_000);

  afterAll(async () => {
    if (dir === '') return;
    await compose('down').catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('lists a clone, recreates it from the file on `up -d` after a promotion, and `down` removes clones', async () => {
    const cloneId = await cloneStable();
    const clone = await docker().getContainer(cloneId).inspect();
    expect(clone.Config.Labels).toMatchObject({
      'com.docker.compose.project': project,
      'com.docker.compose.service': 'web',
      'com.docker.compose.container-number': '1',
    });
    expect(clone.Config.Labels).not.toHaveProperty('com.docker.compose.config-hash');
    expect((await compose('ps', '-q')).split('\n').filter(Boolean)).toContain(cloneId);

    // A promotion removes the stable; the file still names the old image.
    const stableId = (await inProject()).find((c) => c.Id !== cloneId)?.Id;
    if (!stableId) throw new Error('no stable container');
    await removeContainer(stableId);
    await compose('up', '-d');
    const after = await inProject();
    expect(after.map((c) => [c.Image, c.State])).toEqual([['veer-test-app:1', 'running']]);
    expect(after[0]?.Id).not.toBe(cloneId);
    expect(after[0]?.Labels['com.docker.compose.config-hash']).toMatch(/^[0-9a-f]{64}$/);

    const second = await cloneStable();
    expect((await inProject()).map((c) => c.Id)).toContain(second);
    await compose('down');
    expect(await inProject()).toEqual([]);
  }, 180_000);
});
