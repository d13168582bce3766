// The clone spec contract: how a canary container is made from a stable one. Fixtures follow the
// shape `docker inspect` returns on Engine 20.10 / API 1.41 for a compose-style service container.
import type { ContainerInspectInfo } from 'dockerode';
import { describe, expect, it } from 'vitest';
import { cloneSpec, type CloneRequest } from '../../../src/docker/clone-spec.js';
import type { CloneTemplate, CreateSpec, ImageConfig } from '../../../src/docker/port.js';

const STABLE_ID = 'ae95f267c5e9c82135f874d50edacbd23aa89ff95b98e9a319dfc5dad44daa58';
const HEALTH = {
  Test: ['CMD', '/usr/local/bin/node', '/app/probe.mjs'],
  Interval: 1_000_000_000,
  Timeout: 2_000_000_000,
  StartPeriod: 1_000_000_000,
  Retries: 2,
};

function image(version: string, patch: Partial<ImageConfig> = {}): ImageConfig {
  return {
    id: `sha256:${version.repeat(64).slice(0, 64)}`,
    env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'PORT=8080', `VERSION=${version}`, 'ERROR_RATE=0', 'LATENCY_MS=0'],
    cmd: ['serve'],
    entrypoint: ['/usr/local/bin/node', '/app/server.mjs'],
    labels: { 'org.opencontainers.image.version': version, 'com.example.tier': 'web' },
    workingDir: '/app',
    user: '10001:10001',
    healthcheck: HEALTH,
    stopSignal: 'SIGTERM',
    exposedPorts: { '8080/tcp': {} },
    ...patch,
  };
}

const OLD = image('1');
const NEW = image('2');

type Config = ContainerInspectInfo['Config'] & { StopSignal?: string; StopTimeout?: number };
type Networks = ContainerInspectInfo['NetworkSettings']['Networks'];

function endpoint(ip: string, aliases: string[] | null, netId: string): Networks[string] {
  return {
    IPAMConfig: { IPv4Address: ip },
    Links: null,
    Aliases: aliases,
    NetworkID: netId,
    EndpointID: `ep-${netId}`,
    Gateway: '172.18.0.1',
    IPAddress: ip,
    IPPrefixLen: 16,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    MacAddress: '02:42:ac:12:00:02',
  };
}

interface StablePatch {
  config?: Partial<Config>;
  host?: Record<string, unknown>;
  networks?: Networks;
}

/**
 * A container run from OLD by a compose file: env FOO=bar, a label, restart policy, a fixed host port,
 * two networks.
 */
function stable(patch: StablePatch = {}): ContainerInspectInfo {
  const config: Config = {
    Hostname: 'ae95f267c5e9',
    Domainname: '',
    User: '10001:10001',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ExposedPorts: { '8080/tcp': {} },
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: ['FOO=bar', 'PATH=/usr/local/bin:/usr/bin:/bin', 'PORT=8080', 'VERSION=1', 'ERROR_RATE=0', 'LATENCY_MS=0'],
    Cmd: ['serve'],
    Image: 'shop/web:1',
    Volumes: { '/data': {} },
    WorkingDir: '/app',
    Entrypoint: ['/usr/local/bin/node', '/app/server.mjs'],
    OnBuild: null,
    Labels: {
      'org.opencontainers.image.version': '1',
      'com.example.tier': 'web',
      'com.docker.compose.service': 'web',
      'veer.pool': 'stable',
    },
    Healthcheck: { ...HEALTH },
    StopSignal: 'SIGTERM',
    ...patch.config,
  };
  const HostConfig = {
    Binds: ['/srv/shop/uploads:/app/uploads:rw'],
    ContainerIDFile: '/run/web.cid',
    LogConfig: { Type: 'json-file', Config: { 'max-size': '10m' } },
    NetworkMode: 'shop_default',
    PortBindings: {
      '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '8081' }],
      '9000/udp': [{ HostIp: '', HostPort: '9000' }],
    },
    RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
    AutoRemove: false,
    VolumesFrom: null,
    CapAdd: ['NET_BIND_SERVICE'],
    CapDrop: ['ALL'],
    Dns: ['10.0.0.53'],
    DnsOptions: [],
    DnsSearch: [],
    ExtraHosts: ['db.internal:10.0.0.7'],
    Memory: 268_435_456,
    NanoCpus: 500_000_000,
    PidsLimit: null,
    Tmpfs: { '/tmp': 'rw,size=64m' },
    Ulimits: [{ Name: 'nofile', Soft: 65536, Hard: 65536 }],
    Mounts: [{ Type: 'volume', Source: 'shop_cache', Target: '/cache' }],
    ...patch.host,
  };
  return {
    Id: STABLE_ID,
    Created: '2024-05-01T10:00:00.000000000Z',
    Path: '/usr/local/bin/node',
    Args: ['/app/server.mjs', 'serve'],
    State: {
      Status: 'running',
      Running: true,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: 8594,
      ExitCode: 0,
      Error: '',
      StartedAt: '2024-05-01T10:00:00.3Z',
      FinishedAt: '0001-01-01T00:00:00Z',
    },
    Image: OLD.id,
    ResolvConfPath: '',
    HostnamePath: '',
    HostsPath: '',
    LogPath: '',
    Name: '/shop-web-1',
    RestartCount: 0,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    HostConfig: HostConfig as unknown as ContainerInspectInfo['HostConfig'],
    GraphDriver: { Name: 'overlay2', Data: { DeviceId: '', DeviceName: '', DeviceSize: '' } },
    Mounts: [],
    Config: config,
    NetworkSettings: {
      SandboxID: 'sb',
      SandboxKey: '/var/run/docker/netns/sb',
      Ports: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '8081' }] },
      Networks: patch.networks ?? {
        shop_default: endpoint('172.18.0.2', ['web', 'shop-web-1', 'ae95f267c5e9'], 'n1'.padEnd(64, '1')),
        backend: endpoint('172.19.0.4', ['web-api', STABLE_ID, 'ae95f267c5e9'], 'n2'.padEnd(64, '2')),
      },
    },
  };
}

const REQ: CloneRequest = {
  image: 'shop/web:2',
  name: 'web-canary-r1-0',
  env: [],
  labels: { 'veer.service': 'web', 'veer.rollout': 'r1', 'veer.owner': 'veer' },
};

function tpl(container = stable(), oldImage: ImageConfig | null = OLD, newImage = NEW): CloneTemplate {
  return { container, oldImage, newImage };
}

function spec(t: CloneTemplate, req: Partial<CloneRequest> = {}): CreateSpec {
  const r = cloneSpec(t, { ...REQ, ...req });
  if (!r.ok) throw new Error(`expected a spec, got: ${r.error}`);
  return r.value;
}

describe('cloneSpec: env (rule 1)', () => {
  it('lets a default the new image changed take effect instead of the old image value', () => {
    const env = spec(tpl()).options.Env;
    expect(env).toContain('VERSION=2');
    expect(env).not.toContain('VERSION=1');
  });

  it('keeps what the operator set on the stable: new keys and changed baked values', () => {
    const c = stable({
      config: {
        Env: [
          'FOO=bar',
          'PATH=/usr/local/bin:/usr/bin:/bin',
          'PORT=8080',
          'VERSION=1',
          'ERROR_RATE=0.5',
          'LATENCY_MS=0',
        ],
      },
    });
    const env = spec(tpl(c)).options.Env;
    expect(env).toContain('FOO=bar');
    expect(env).toContain('ERROR_RATE=0.5');
    expect(env).not.toContain('ERROR_RATE=0');
  });

  it('lets the request win, keeping the first-seen key order', () => {
    const c = stable({
      config: {
        Env: [
          'FOO=bar',
          'PATH=/usr/local/bin:/usr/bin:/bin',
          'PORT=8080',
          'VERSION=1',
          'ERROR_RATE=0.5',
          'LATENCY_MS=0',
        ],
      },
    });
    const env = spec(tpl(c), { env: ['FOO=baz', 'LATENCY_MS=20', 'NEW=a=b'] }).options.Env;
    expect(env).toEqual([
      'PATH=/usr/local/bin:/usr/bin:/bin',
      'PORT=8080',
      'VERSION=2',
      'ERROR_RATE=0.5',
      'LATENCY_MS=20',
      'FOO=baz',
      'NEW=a=b',
    ]);
  });

  it.each(['NOVALUE', '=x', ''])('refuses the request env entry %j, naming it', (bad) => {
    const r = cloneSpec(tpl(), { ...REQ, env: ['OK=1', bad] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(`'${bad}'`);
  });

  it('without the old image keeps every container entry except PATH', () => {
    const newImage = image('2', { env: ['PATH=/opt/app/bin:/usr/bin', 'VERSION=2', 'MODE=fast'] });
    const c = stable({ config: { Env: ['FOO=bar', 'PATH=/usr/local/bin:/usr/bin:/bin', 'VERSION=1'] } });
    expect(spec(tpl(c, null, newImage)).options.Env).toEqual([
      'PATH=/opt/app/bin:/usr/bin',
      'VERSION=1',
      'MODE=fast',
      'FOO=bar',
    ]);
  });
});

describe('cloneSpec: labels (rule 2)', () => {
  it('takes the new image labels, then the operator labels, then veer labels', () => {
    const labels = spec(tpl()).options.Labels;
    expect(labels).toEqual({
      'org.opencontainers.image.version': '2',
      'com.example.tier': 'web',
      'com.docker.compose.service': 'web',
      'veer.service': 'web',
      'veer.rollout': 'r1',
      'veer.owner': 'veer',
    });
  });

  it('does not copy compose config hash and image digest, nor a pool label (a promoted clone is stable)', () => {
    const compose = {
      'com.docker.compose.project': 'shop',
      'com.docker.compose.service': 'web',
      'com.docker.compose.oneoff': 'False',
      'com.docker.compose.container-number': '2',
      'com.docker.compose.version': '1.29.2',
      'com.docker.compose.project.working_dir': '/srv/shop',
      'com.docker.compose.config-hash': '3f2c9d0e6b1a4f5e8c7d2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e',
      'com.docker.compose.image': 'sha256:1111111111111111111111111111111111111111111111111111111111111111',
    };
    const c = stable({ config: { Labels: { ...compose, 'veer.pool': 'canary', 'veer.rollout': 'r0' } } });
    for (const t of [tpl(c), tpl(c, null)]) {
      const labels = spec(t).options.Labels ?? {};
      expect(labels).not.toHaveProperty('com.docker.compose.config-hash');
      expect(labels).not.toHaveProperty('com.docker.compose.image');
      expect(labels).not.toHaveProperty('veer.pool');
      // compose lists a service's containers by project, service and oneoff; v1 needs the number.
      expect(labels).toMatchObject({
        'com.docker.compose.project': 'shop',
        'com.docker.compose.service': 'web',
        'com.docker.compose.oneoff': 'False',
        'com.docker.compose.container-number': '2',
        'com.docker.compose.version': '1.29.2',
        'com.docker.compose.project.working_dir': '/srv/shop',
        'veer.rollout': 'r1',
      });
    }
  });

  it('keeps a label the operator changed from the image value, and all labels when the old image is gone', () => {
    const c = stable({ config: { Labels: { 'com.example.tier': 'edge', 'org.opencontainers.image.version': '1' } } });
    expect(spec(tpl(c)).options.Labels?.['com.example.tier']).toBe('edge');
    expect(spec(tpl(c)).options.Labels?.['org.opencontainers.image.version']).toBe('2');
    expect(spec(tpl(c, null)).options.Labels?.['org.opencontainers.image.version']).toBe('1');
  });
});

describe('cloneSpec: command, healthcheck and other run settings (rule 3)', () => {
  it('replaces an image-default command with the new image one (does not set Cmd)', () => {
    const newImage = image('2', { cmd: ['serve', '--cluster'] });
    const o = spec(tpl(stable(), OLD, newImage)).options;
    expect(o).not.toHaveProperty('Cmd');
    expect(o).not.toHaveProperty('Entrypoint');
  });

  it('keeps a compose-style command override', () => {
    const c = stable({ config: { Cmd: ['serve', '--workers', '4'] } });
    expect(spec(tpl(c)).options.Cmd).toEqual(['serve', '--workers', '4']);
  });

  it('keeps an entrypoint override', () => {
    const c = stable({
      config: { Entrypoint: ['/usr/local/bin/node', '--max-old-space-size=256', '/app/server.mjs'] },
    });
    expect(spec(tpl(c)).options.Entrypoint).toEqual([
      '/usr/local/bin/node',
      '--max-old-space-size=256',
      '/app/server.mjs',
    ]);
  });

  it('replaces the image healthcheck with the new image one', () => {
    // Same value, other key order: still the image's, not an override.
    const c = stable({
      config: {
        Healthcheck: {
          Retries: 2,
          StartPeriod: 1_000_000_000,
          Timeout: 2_000_000_000,
          Interval: 1_000_000_000,
          Test: HEALTH.Test,
        },
      },
    });
    expect(spec(tpl(c, OLD, image('2', { healthcheck: { ...HEALTH, Retries: 5 } }))).options).not.toHaveProperty(
      'Healthcheck',
    );
  });

  it('keeps a compose healthcheck override', () => {
    const override = {
      Test: ['CMD-SHELL', 'wget -qO- http://127.0.0.1:8080/ready'],
      Interval: 5_000_000_000,
      Retries: 3,
    };
    expect(spec(tpl(stable({ config: { Healthcheck: override } }))).options.Healthcheck).toEqual(override);
  });

  it('keeps WorkingDir, User and StopSignal overrides and leaves defaults to the new image', () => {
    const dflt = spec(tpl()).options;
    expect(dflt).not.toHaveProperty('WorkingDir');
    expect(dflt).not.toHaveProperty('User');
    expect(dflt).not.toHaveProperty('StopSignal');
    const o = spec(tpl(stable({ config: { WorkingDir: '/srv', User: '0:0', StopSignal: 'SIGQUIT' } }))).options;
    expect(o).toMatchObject({ WorkingDir: '/srv', User: '0:0', StopSignal: 'SIGQUIT' });
  });

  it('keeps the container values when the old image is gone', () => {
    const o = spec(tpl(stable(), null)).options;
    expect(o).toMatchObject({
      Cmd: ['serve'],
      Entrypoint: ['/usr/local/bin/node', '/app/server.mjs'],
      WorkingDir: '/app',
      User: '10001:10001',
      Healthcheck: HEALTH,
      StopSignal: 'SIGTERM',
    });
  });
});

describe('cloneSpec: ports and host config (rules 4, 5)', () => {
  it('exposes the union of the container and new image ports', () => {
    const c = stable({ config: { ExposedPorts: { '8080/tcp': {}, '9000/udp': {} } } });
    const o = spec(tpl(c, OLD, image('2', { exposedPorts: { '8080/tcp': {}, '9090/tcp': {} } }))).options;
    expect(Object.keys(o.ExposedPorts ?? {}).sort()).toEqual(['8080/tcp', '9000/udp', '9090/tcp']);
  });

  it('copies the host config whole, with host ports left to the engine and no ContainerIDFile', () => {
    const c = stable();
    const h = spec(tpl(c)).options.HostConfig;
    expect(h?.PortBindings).toEqual({
      '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }],
      '9000/udp': [{ HostIp: '', HostPort: '' }],
    });
    expect(h).not.toHaveProperty('ContainerIDFile');
    const { PortBindings: _a, ContainerIDFile: _b, ...rest } = c.HostConfig;
    expect(h).toMatchObject(rest);
    expect(h?.RestartPolicy).toEqual({ Name: 'unless-stopped', MaximumRetryCount: 0 });
    // The stable's own inspect value is not mutated (the template may be reused for more clones).
    expect(c.HostConfig.PortBindings['8080/tcp'][0].HostPort).toBe('8081');
    expect(c.HostConfig.ContainerIDFile).toBe('/run/web.cid');
  });

  it('refuses a container: network mode', () => {
    const r = cloneSpec(tpl(stable({ host: { NetworkMode: `container:${STABLE_ID}` }, networks: {} })), REQ);
    expect(r).toEqual({ ok: false, error: expect.stringContaining('container:') });
  });
});

describe('cloneSpec: networks (rule 6)', () => {
  it('attaches the NetworkMode network at create and the others after, without own aliases or fixed IPs', () => {
    const s = spec(tpl());
    expect(s.options.NetworkingConfig).toEqual({ EndpointsConfig: { shop_default: { Aliases: ['web'] } } });
    expect(s.extraNetworks).toEqual([{ name: 'backend', aliases: ['web-api'] }]);
    expect(JSON.stringify(s)).not.toContain('IPAMConfig');
    expect(JSON.stringify(s)).not.toContain('172.1');
  });

  it('drops the hostname alias', () => {
    const c = stable({
      config: { Hostname: 'web-host' },
      networks: { shop_default: endpoint('172.18.0.2', ['web', 'web-host'], 'n1') },
    });
    expect(spec(tpl(c)).options.NetworkingConfig?.EndpointsConfig).toEqual({ shop_default: { Aliases: ['web'] } });
  });

  it('maps the default mode to the bridge network', () => {
    const c = stable({
      host: { NetworkMode: 'default' },
      networks: { bridge: endpoint('172.17.0.3', null, 'b'.repeat(64)) },
    });
    const s = spec(tpl(c));
    expect(s.options.NetworkingConfig).toEqual({ EndpointsConfig: { bridge: {} } });
    expect(s.extraNetworks).toEqual([]);
  });

  it("refuses host network mode (a clone would bind the stable container's ports)", () => {
    const c = stable({
      host: { NetworkMode: 'host', PortBindings: {} },
      networks: { host: endpoint('', null, 'h'.repeat(64)) },
    });
    const r = cloneSpec(tpl(c), REQ);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.error).toMatch(/network mode 'host' cannot be cloned/);
  });

  it('gives none network mode no networking config', () => {
    const s = spec(
      tpl(stable({ host: { NetworkMode: 'none' }, networks: { none: endpoint('', null, 'z'.repeat(64)) } })),
    );
    expect(s.options).not.toHaveProperty('NetworkingConfig');
    expect(s.extraNetworks).toEqual([]);
  });
});

describe('cloneSpec: identity and the rest (rules 7, 8)', () => {
  it('names the clone, runs the new image, never copies Hostname, Image or Volumes', () => {
    const o = spec(tpl()).options;
    expect(o.name).toBe('web-canary-r1-0');
    expect(o.Image).toBe('shop/web:2');
    expect(o).not.toHaveProperty('Hostname');
    expect(o).not.toHaveProperty('Volumes');
    expect(JSON.stringify(o)).not.toContain('shop/web:1');
  });

  it('copies Tty, OpenStdin, StdinOnce, StopTimeout and Domainname', () => {
    const c = stable({
      config: { Tty: true, OpenStdin: true, StdinOnce: true, StopTimeout: 25, Domainname: 'shop.internal' },
    });
    expect(spec(tpl(c)).options).toMatchObject({
      Tty: true,
      OpenStdin: true,
      StdinOnce: true,
      StopTimeout: 25,
      Domainname: 'shop.internal',
    });
    expect(spec(tpl()).options).not.toHaveProperty('StopTimeout');
  });
});
