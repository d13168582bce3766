import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { dockerOptions } from '../../../src/docker/endpoint.js';
import { describeAddress } from '../../../src/docker/engine-errors.js';
import { SshDockerAgent } from '../../../src/docker/ssh-agent.js';

const dir = mkdtempSync(path.join(tmpdir(), 'veer-endpoint-'));
const file = (name: string, text: string): string => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const okOf = (r: ReturnType<typeof dockerOptions>) => {
  if (!r.ok) throw new Error(`expected ok, got: ${r.message}`);
  return r;
};
const messageOf = (r: ReturnType<typeof dockerOptions>): string => {
  if (r.ok) throw new Error('expected a refusal');
  return r.message;
};

describe('dockerOptions', () => {
  const savedAgent = process.env.SSH_AUTH_SOCK;
  afterEach(() => {
    if (savedAgent === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = savedAgent;
  });

  it('unix socket: socketPath, published on 127.0.0.1, and nothing from the environment', () => {
    const r = okOf(dockerOptions({ name: 'local', host: 'unix:///var/run/docker.sock' }));
    expect(r.publishedHost).toBe('127.0.0.1');
    expect(r.options.socketPath).toBe('/var/run/docker.sock');
    expect(r.options.protocol).toBe('http');
    // Explicitly undefined, so docker-modem's DOCKER_HOST/DOCKER_CLIENT_TIMEOUT defaults cannot creep in.
    expect('host' in r.options && r.options.host === undefined).toBe(true);
    expect('timeout' in r.options && r.options.timeout === undefined).toBe(true);
    expect(describeAddress(r.options)).toBe('unix:///var/run/docker.sock');
  });

  it('refuses a unix:// host without an absolute path', () => {
    expect(messageOf(dockerOptions({ name: 'x', host: 'unix://' }))).toMatch(
      /docker endpoint "x".*absolute socket path/,
    );
  });

  it('tcp: plain http, default port 2375, published on the engine host', () => {
    const r = okOf(dockerOptions({ name: 'edge', host: 'tcp://10.0.0.5' }));
    expect(r.options).toMatchObject({ protocol: 'http', host: '10.0.0.5', port: 2375 });
    expect(r.options.timeout).toBeUndefined();
    expect(r.publishedHost).toBe('10.0.0.5');
    expect(okOf(dockerOptions({ name: 'edge', host: 'tcp://docker.internal:12375/' })).options).toMatchObject({
      host: 'docker.internal',
      port: 12375,
    });
    expect(describeAddress(r.options)).toBe('tcp://10.0.0.5:2375');
  });

  it('tcp with ca/cert/key: https, default port 2376, file contents loaded', () => {
    const ca = file('ca.pem', 'CA');
    const cert = file('cert.pem', 'CERT');
    const key = file('key.pem', 'KEY');
    const r = okOf(dockerOptions({ name: 'tls', host: 'tcp://127.0.0.1', ca, cert, key }));
    expect(r.options).toMatchObject({ protocol: 'https', host: '127.0.0.1', port: 2376 });
    expect(String(r.options.ca)).toBe('CA');
    expect(String(r.options.cert)).toBe('CERT');
    expect(String(r.options.key)).toBe('KEY');
    const caOnly = okOf(dockerOptions({ name: 'tls', host: 'tcp://127.0.0.1:9999', ca }));
    expect(caOnly.options).toMatchObject({ protocol: 'https', port: 9999 });
    expect(caOnly.options.cert).toBeUndefined();
  });

  it('names the endpoint, field and path of an unreadable TLS file', () => {
    const missing = path.join(dir, 'nope.pem');
    const msg = messageOf(dockerOptions({ name: 'prod', host: 'tcp://1.2.3.4', ca: missing }));
    expect(msg).toContain('docker endpoint "prod"');
    expect(msg).toContain('ca');
    expect(msg).toBe(`docker endpoint "prod": cannot read ca file "${missing}": no such file`);
    // A pipe is no certificate file: said as such, where reading it blocked until a writer came.
    const fifo = path.join(dir, 'ca.fifo');
    execFileSync('mkfifo', [fifo]);
    const piped = messageOf(dockerOptions({ name: 'prod', host: 'tcp://1.2.3.4', ca: fifo }));
    expect(piped).toBe(`docker endpoint "prod": cannot read ca file "${fifo}": not a regular file (a named pipe)`);
  });

  it('refuses a cert without its key', () => {
    const cert = file('c2.pem', 'CERT');
    expect(messageOf(dockerOptions({ name: 'p', host: 'tcp://1.2.3.4', cert }))).toMatch(/both "cert" and "key"/);
  });

  it('ssh: user, default port 22, agent from SSH_AUTH_SOCK when set', () => {
    process.env.SSH_AUTH_SOCK = '/tmp/agent.sock';
    const r = okOf(dockerOptions({ name: 'remote', host: 'ssh://deploy@build-1.example:2222' }));
    // Plain HTTP through veer's own agent: one persistent SSH session per endpoint.
    expect(r.options).toMatchObject({ protocol: 'http' });
    const agent = (r.options as { agent?: unknown }).agent;
    expect(agent).toBeInstanceOf(SshDockerAgent);
    expect((agent as SshDockerAgent).target).toMatchObject({
      host: 'build-1.example',
      port: 2222,
      username: 'deploy',
      agent: '/tmp/agent.sock',
    });
    expect(r.publishedHost).toBe('build-1.example');
    expect(describeAddress(r.options)).toBe('ssh://deploy@build-1.example:2222');
    delete process.env.SSH_AUTH_SOCK;
    const r2 = okOf(dockerOptions({ name: 'remote', host: 'ssh://root@build-2' }));
    const t2 = ((r2.options as { agent?: unknown }).agent as SshDockerAgent).target;
    expect(t2).toMatchObject({ port: 22, username: 'root', agent: undefined });
    (agent as SshDockerAgent).destroy();
    ((r2.options as { agent?: unknown }).agent as SshDockerAgent).destroy();
  });

  it('keeps IPv6 literals bracketed for targets and bare for the socket', () => {
    const r = okOf(dockerOptions({ name: 'v6', host: 'tcp://[::1]:2375' }));
    expect(r.options.host).toBe('::1');
    expect(r.publishedHost).toBe('[::1]');
  });

  it('refuses npipe and unknown forms with the accepted ones', () => {
    expect(messageOf(dockerOptions({ name: 'win', host: 'npipe:////./pipe/docker_engine' }))).toMatch(
      /docker endpoint "win": npipe:\/\/ .*not supported/,
    );
    for (const host of ['http://1.2.3.4:2375', '1.2.3.4:2375', '', 'tcp://', 'tcp://h:2375/path', 'ssh://user:pw@h']) {
      const msg = messageOf(dockerOptions({ name: 'bad', host }));
      expect(msg).toContain('docker endpoint "bad"');
      expect(msg).toMatch(/(tcp|ssh):\/\/(\[user@\])?host\[:port\]/);
    }
  });
});
