// toView/toImageConfig on `docker inspect` answers recorded once from a real engine (Docker 20.10,
// fixtures/), plus the pure helpers the adapter relies on: error mapping, JSON lines, log frames.
import { readFileSync } from 'node:fs';
import type { ContainerInspectInfo, ImageInspectInfo } from 'dockerode';
import { describe, expect, it } from 'vitest';
import {
  EngineErrors,
  beingRemoved,
  engineMessage,
  isConnectionError,
  stoppedUnderUs,
} from '../../../src/docker/engine-errors.js';
import { toImageConfig, toView } from '../../../src/docker/engine-view.js';
import { JsonLines } from '../../../src/docker/engine-events.js';
import { asBuffer, demuxLogs } from '../../../src/docker/engine-logs.js';

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as T;
const container = (name: string): ContainerInspectInfo => fixture<ContainerInspectInfo>(`inspect-${name}`);

describe('toView', () => {
  it('normalises a running, healthy container with a published port', () => {
    const v = toView('local', container('health'));
    expect(v).toEqual({
      endpoint: 'local',
      id: 'f104f1604318d9df3ed5eb239c8049ba3171b629d62d5d0af39c38b81e051bf7',
      name: 'veer-t-engine-fixture-health',
      image: 'veer-test-app:health',
      labels: { 'veer.inputs': '9568943c07058ee3', 'veer.test': '1', 'veer.testfile': 'engine-fixture' },
      running: true,
      health: 'healthy',
      ports: { '8080/tcp': [{ hostIp: '127.0.0.1', hostPort: 32768 }] },
      networks: { bridge: '172.17.0.2' },
      networkMode: 'default',
      autoRemove: false,
      restartPolicy: 'always',
      healthOutput: '',
      exitCode: null,
      restarts: { count: 0, restarting: false, lastExit: null },
      error: '',
      created: Date.parse(container('health').Created),
    });
  });

  it("reports a restart policy's restarts, with the exit that caused them only while it is known", () => {
    const base = container('health');
    const looping = { ...base, RestartCount: 3, State: { ...base.State, Restarting: true, ExitCode: 1 } };
    expect(toView('local', looping).restarts).toEqual({ count: 3, restarting: true, lastExit: 1 });
    // Running again: Docker has set ExitCode back to 0, which is not the exit that made it restart.
    const again = { ...base, RestartCount: 3, State: { ...base.State, Restarting: false, ExitCode: 0 } };
    expect(toView('local', again).restarts).toEqual({ count: 3, restarting: false, lastExit: null });
  });

  it('reports a created, never started container without exit code, ports or health', () => {
    const v = toView('edge', container('created'));
    expect(v.endpoint).toBe('edge');
    expect(v.running).toBe(false);
    expect(v.exitCode).toBeNull();
    expect(v.health).toBe('none');
    expect(v.healthOutput).toBeNull();
    expect(v.ports).toEqual({});
    expect(v.networkMode).toBe('none');
    expect(v.networks).toEqual({ none: '' });
    expect(v.restartPolicy).toBe('no');
  });

  it('reports the exit code of a container that exited', () => {
    const v = toView('local', container('exited'));
    expect(v.running).toBe(false);
    expect(v.exitCode).toBe(1);
    expect(v.name).toBe('veer-t-engine-fixture-exited');
    expect(v.image).toBe('veer-test-app:1');
  });

  it('takes the latest health probe output, trimmed to 500 characters', () => {
    const info = container('health');
    info.State.Health = {
      Status: 'unhealthy',
      FailingStreak: 3,
      Log: [
        { Start: '', End: '', ExitCode: 1, Output: 'old failure' },
        { Start: '', End: '', ExitCode: 1, Output: `  ${'x'.repeat(800)}\n` },
      ],
    };
    const v = toView('local', info);
    expect(v.health).toBe('unhealthy');
    expect(v.healthOutput).toHaveLength(500);
    expect(v.healthOutput?.startsWith('xxx')).toBe(true);
  });

  it('skips exposed-but-unpublished ports and tolerates missing maps', () => {
    const info = container('health');
    (info.NetworkSettings as { Ports: unknown }).Ports = {
      '8080/tcp': null,
      '9000/udp': [{ HostIp: '0.0.0.0', HostPort: '5353' }],
    };
    (info.Config as { Labels: unknown }).Labels = null;
    (info.HostConfig as { RestartPolicy: unknown }).RestartPolicy = { Name: '', MaximumRetryCount: 0 };
    info.HostConfig.AutoRemove = true;
    info.State.Health = undefined;
    info.State.Error = 'port is already allocated';
    const v = toView('local', info);
    expect(v.ports).toEqual({ '9000/udp': [{ hostIp: '0.0.0.0', hostPort: 5353 }] });
    expect(v.labels).toEqual({});
    expect(v.restartPolicy).toBe('no');
    expect(v.autoRemove).toBe(true);
    expect(v.health).toBe('none');
    expect(v.error).toBe('port is already allocated');
  });
});

describe('toImageConfig', () => {
  it('reads the config of an image with a HEALTHCHECK', () => {
    const c = toImageConfig(fixture<ImageInspectInfo>('inspect-image-health'));
    expect(c.id).toBe('sha256:aef698813a3dd433b68b944307f3c048e16b5552680e3b649212341dc3f8c049');
    expect(c.env).toContain('VERSION=1');
    expect(c.cmd).toBeNull();
    expect(c.entrypoint).toEqual(['/usr/local/bin/node', '/app/server.mjs']);
    expect(c.user).toBe('10001:10001');
    expect(c.workingDir).toBe('');
    expect(c.healthcheck?.Retries).toBe(2);
    expect(c.healthcheck?.Test?.[0]).toBe('CMD');
    expect(c.stopSignal).toBe('SIGTERM');
    expect(c.exposedPorts).toEqual({ '8080/tcp': {} });
    expect(c.labels['veer.test']).toBe('1');
  });

  it('reads an image without a HEALTHCHECK and fills absent fields', () => {
    const info = fixture<ImageInspectInfo>('inspect-image-1');
    expect(toImageConfig(info).healthcheck).toBeNull();
    const bare = {
      Id: 'sha256:abc',
      Config: { Env: null, Cmd: null, Labels: null, Entrypoint: '/bin/app' },
    } as unknown as ImageInspectInfo;
    expect(toImageConfig(bare)).toEqual({
      id: 'sha256:abc',
      env: [],
      cmd: null,
      entrypoint: ['/bin/app'],
      labels: {},
      workingDir: '',
      user: '',
      healthcheck: null,
      stopSignal: null,
      exposedPorts: {},
    });
  });
});

describe('JsonLines', () => {
  it('parses values split across chunks, including a split UTF-8 character', () => {
    const values: unknown[] = [];
    const bad: string[] = [];
    const lines = new JsonLines();
    const text = Buffer.from('{"a":1}\n{"b":"é"}\n\nnot json\n{"c":');
    const cut = text.indexOf(0xc3) + 1; // in the middle of "é"
    lines.push(
      text.subarray(0, 3),
      (v) => values.push(v),
      (l) => bad.push(l),
    );
    lines.push(
      text.subarray(3, cut),
      (v) => values.push(v),
      (l) => bad.push(l),
    );
    lines.push(
      text.subarray(cut),
      (v) => values.push(v),
      (l) => bad.push(l),
    );
    expect(values).toEqual([{ a: 1 }, { b: 'é' }]);
    expect(bad).toEqual(['not json']);
    lines.push(
      '3}\n',
      (v) => values.push(v),
      (l) => bad.push(l),
    );
    expect(values).toEqual([{ a: 1 }, { b: 'é' }, { c: 3 }]);
  });
});

describe('demuxLogs', () => {
  const frame = (type: number, text: string): Buffer => {
    const body = Buffer.from(text);
    const head = Buffer.alloc(8);
    head[0] = type;
    head.writeUInt32BE(body.length, 4);
    return Buffer.concat([head, body]);
  };

  it('joins stdout and stderr frames in order', () => {
    const buf = Buffer.concat([frame(1, 'listening\n'), frame(2, 'boom\n'), frame(1, 'bye\n')]);
    expect(demuxLogs(buf).toString()).toBe('listening\nboom\nbye\n');
  });

  it('keeps text that is not framed as it is', () => {
    expect(demuxLogs(Buffer.from('plain tty output\n')).toString()).toBe('plain tty output\n');
    expect(demuxLogs(Buffer.alloc(0)).toString()).toBe('');
  });

  it('accepts whatever docker-modem made of the body', () => {
    expect(asBuffer({ a: 1 }).toString()).toBe('{"a":1}');
    expect(asBuffer('x').toString()).toBe('x');
    expect(asBuffer(null).toString()).toBe('');
  });
});

describe('EngineErrors', () => {
  const errors = new EngineErrors('local', 'unix:///var/run/docker.sock');
  // The shape docker-modem rejects with when the engine answers with an error status.
  const answered = (statusCode: number, message: string): Error =>
    Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), { statusCode, json: { message } });

  it('names the endpoint and the operation, and keeps what the engine said', () => {
    const e = errors.map(answered(500, 'Cannot start container abc: oci runtime error'), 'start container web-1');
    expect(e.message).toBe(
      'docker endpoint "local": start container web-1: cannot start container abc: oci runtime error (HTTP 500)',
    );
    expect(e.status).toBe(500);
    expect(errors.plain('no such container abc123').message).toBe('docker endpoint "local": no such container abc123');
  });

  it('maps connection failures to "unreachable" with the address', () => {
    const enoent = Object.assign(new Error('connect ENOENT /var/run/docker.sock'), {
      code: 'ENOENT',
      errno: -2,
      syscall: 'connect',
    });
    expect(isConnectionError(enoent)).toBe(true);
    const e = errors.map(enoent, 'list containers');
    expect(e.message).toBe(
      'docker endpoint "local" (unix:///var/run/docker.sock) is unreachable: connect ENOENT /var/run/docker.sock',
    );
    expect(e.code).toBe('docker_unreachable');
    expect(isConnectionError(answered(404, 'No such container: x'))).toBe(false);
    expect(isConnectionError(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }))).toBe(false);
  });

  it("unwraps docker-modem's prefix when the answer was a stream", () => {
    const streamed = Object.assign(
      new Error('(HTTP code 500) server error - Get "http://127.0.0.1:1/v2/": connection refused '),
      { statusCode: 500, json: null },
    );
    expect(engineMessage(streamed)).toBe('Get "http://127.0.0.1:1/v2/": connection refused');
    expect(engineMessage(new Error('plain'))).toBe('plain');
  });
});

describe('answers retire treats as "already done"', () => {
  const engineError = (statusCode: number, message: string): Error =>
    Object.assign(new Error(`(HTTP code ${statusCode})`), { statusCode, json: { message } });
  it('an update racing the container\'s own stop (Engine 20.10: 500 "container not running") is not a failure', () => {
    expect(
      stoppedUnderUs(
        engineError(
          500,
          'Cannot update container 1b8c: runc did not terminate successfully: exit status 1: ' +
            'container not running\n: unknown',
        ),
      ),
    ).toBe(true);
    expect(stoppedUnderUs(engineError(500, 'Cannot update container 1b8c: no space left on device'))).toBe(false);
    expect(stoppedUnderUs(new Error('container not running'))).toBe(false);
  });
  it('"marked for removal" and "removal already in progress" mean AutoRemove got there first', () => {
    expect(
      beingRemoved(
        engineError(500, 'Cannot update container abc: container is marked for removal and cannot be "update"'),
      ),
    ).toBe(true);
    expect(beingRemoved(engineError(409, 'removal of container abc is already in progress'))).toBe(true);
    expect(beingRemoved(engineError(409, 'conflict: unable to remove repository reference'))).toBe(false);
  });
});
