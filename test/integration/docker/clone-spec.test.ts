// cloneSpec against a real engine: the spec it computes from a running veer-test-app:1 container
// must be accepted by Docker as-is and yield a working veer-test-app:2 clone that keeps what the
// operator set (env, restart policy, loopback-only port, networks) and gets its own host port.
// Skipped only when no Docker engine answers (VEER_REQUIRE_DOCKER=1 turns that into a failure).
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { ContainerInspectInfo } from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloneSpec } from '../../../src/docker/clone-spec.js';
import { toImageConfig as imageConfig } from '../../../src/docker/engine-view.js';
import type { CloneTemplate } from '../../../src/docker/port.js';
import { docker, dockerStatus, removeContainer, TEST_LABEL } from '../../helpers/docker.js';
import { waitFor } from '../../helpers/process.js';

const status = await dockerStatus();
const required = process.env.VEER_REQUIRE_DOCKER === '1';
if (!status.ok) console.warn(`[clone-spec.test] ${required ? 'FAILING' : 'skipping'}: ${status.reason}`);

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
      labels: { ...TEST_LABEL, ...FILE_LABEL, 'veer.clone-run': suffix, 'veer.pool': 'canary' },
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
    expect(info.Config.Labels).toMatchObject({ 'com.example.owner': 'ops', 'veer.pool': 'canary' });
    expect(info.HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
    expect(info.Config.Hostname).not.toBe(stableInfo.Config.Hostname);
    expect(Object.keys(info.NetworkSettings.Networks).sort()).toEqual([NET, EXTRA_NET].sort());
    expect(info.NetworkSettings.Networks[NET]?.Aliases).toContain('web');
    expect(info.NetworkSettings.Networks[EXTRA_NET]?.Aliases).toContain('web-internal');
  }, 60_000);
});
