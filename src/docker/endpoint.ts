// Turns one configured Docker endpoint (docker.endpoints[]) into dockerode options. Pure apart from
// reading TLS files, so a bad host or an unreadable certificate is reported at config time, naming
// the endpoint, instead of surfacing later as an obscure connection error.
import { homedir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { readRegularFileSync } from '../config/file-text.js';
import { checkFingerprint, checkKnownHosts, knownHostsName, type HostKeyCheck } from './known-hosts.js';
import { SshDockerAgent } from './ssh-agent.js';

export interface EndpointConfig {
  name: string;
  host: string;
  ca?: string;
  cert?: string;
  key?: string;
  identityFile?: string;
  knownHosts?: string;
  hostKeyFingerprint?: string;
}

export type EndpointOptions =
  { ok: true; options: Docker.DockerOptions; publishedHost: string } | { ok: false; message: string };

const ACCEPTED = 'unix:///path/to/docker.sock, tcp://host[:port] or ssh://[user@]host[:port]';

// docker-modem merges its DOCKER_HOST/DOCKER_CERT_PATH/DOCKER_CLIENT_TIMEOUT defaults under ours, so
// every field they could fill is set explicitly: an endpoint means exactly what its config says.
// `timeout` in particular is an inactivity timeout that would also kill the event stream.
const NEUTRAL: Docker.DockerOptions = {
  socketPath: undefined,
  host: undefined,
  port: undefined,
  username: undefined,
  ca: undefined,
  cert: undefined,
  key: undefined,
  timeout: undefined,
};

export function dockerOptions(ep: EndpointConfig): EndpointOptions {
  const host = ep.host.trim();
  const scheme = /^([a-z]+):\/\//i.exec(host)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'unix':
      return unixOptions(ep.name, host);
    case 'tcp':
      return tcpOptions(ep, host);
    case 'ssh':
      return sshOptions(ep, host);
    case 'npipe':
      return fail(ep.name, `npipe:// (Windows named pipes) is not supported; use ${ACCEPTED}`);
    default:
      return fail(ep.name, `host "${ep.host}" is not understood; use ${ACCEPTED}`);
  }
}

function unixOptions(name: string, host: string): EndpointOptions {
  const socketPath = host.slice('unix://'.length);
  if (!socketPath.startsWith('/'))
    return fail(name, `host "${host}" needs an absolute socket path, e.g. unix:///var/run/docker.sock`);
  return { ok: true, options: { ...NEUTRAL, socketPath, protocol: 'http' }, publishedHost: '127.0.0.1' };
}

function tcpOptions(ep: EndpointConfig, host: string): EndpointOptions {
  const url = parseUrl(host);
  if (url === null || url.hostname === '' || url.username !== '' || !emptyPath(url)) {
    return fail(ep.name, `host "${host}" is not a valid tcp://host[:port] address`);
  }
  const tls = readTls(ep);
  if (!tls.ok) return tls;
  const secure = tls.files !== null;
  const port = url.port === '' ? (secure ? 2376 : 2375) : Number(url.port);
  const options: Docker.DockerOptions = {
    ...NEUTRAL,
    ...tls.files,
    protocol: secure ? 'https' : 'http',
    host: bare(url.hostname),
    port,
  };
  return { ok: true, options, publishedHost: url.hostname };
}

function sshOptions(ep: EndpointConfig, host: string): EndpointOptions {
  const url = parseUrl(host);
  if (url === null || url.hostname === '' || url.password !== '' || !emptyPath(url)) {
    return fail(ep.name, `host "${host}" is not a valid ssh://[user@]host[:port] address`);
  }
  const identity = identityOf(ep);
  if (!identity.ok) return fail(ep.name, identity.message);
  const hostname = bare(url.hostname);
  const port = url.port === '' ? 22 : Number(url.port);
  const agent = new SshDockerAgent({
    name: ep.name,
    host: hostname,
    port,
    username: url.username === '' ? (process.env.USER ?? 'root') : decodeURIComponent(url.username),
    privateKey: identity.key,
    agent: process.env.SSH_AUTH_SOCK,
    verify: hostKeyCheck(ep, knownHostsName(hostname, port)),
  });
  // Plain HTTP over the agent's channels: docker-modem's own ssh mode would log in once per call.
  // docker-modem takes an http.Agent (its typings do not say so).
  const options: Docker.DockerOptions & { agent: SshDockerAgent } = {
    ...NEUTRAL,
    protocol: 'http',
    host: 'docker',
    port: 80,
    agent,
  };
  return { ok: true, options, publishedHost: url.hostname };
}

const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

function identityOf(ep: EndpointConfig): { ok: true; key: Buffer | undefined } | { ok: false; message: string } {
  if (ep.identityFile !== undefined) {
    const read = readRegularFileSync(ep.identityFile);
    return read.ok
      ? { ok: true, key: read.value }
      : { ok: false, message: `identityFile ${ep.identityFile} cannot be read: ${read.error}` };
  }
  for (const f of DEFAULT_IDENTITIES) {
    const read = readRegularFileSync(join(homedir(), '.ssh', f));
    // Not there: the next default, else the agent alone.
    if (read.ok) return { ok: true, key: read.value };
  }
  return { ok: true, key: undefined };
}

/** The host key decision: the configured fingerprint, else known_hosts (read at each login). */
function hostKeyCheck(ep: EndpointConfig, name: string): (key: Buffer) => HostKeyCheck {
  const fingerprint = ep.hostKeyFingerprint;
  if (fingerprint !== undefined) return (key) => checkFingerprint(fingerprint, name, key);
  const file = ep.knownHosts ?? join(homedir(), '.ssh', 'known_hosts');
  return (key) => {
    const read = readRegularFileSync(file);
    if (!read.ok)
      return { ok: false, reason: `known_hosts ${file} cannot be read (${read.error}), so ${name} cannot be verified` };
    return checkKnownHosts(read.value.toString('utf8'), name, key);
  };
}

type TlsFiles =
  { ok: true; files: { ca?: Buffer; cert?: Buffer; key?: Buffer } | null } | { ok: false; message: string };

function readTls(ep: EndpointConfig): TlsFiles {
  if (ep.ca === undefined && ep.cert === undefined && ep.key === undefined) return { ok: true, files: null };
  // A client certificate is useless without its key (and vice versa); say so instead of a TLS alert.
  if ((ep.cert === undefined) !== (ep.key === undefined)) {
    return fail(ep.name, `tls needs both "cert" and "key" (got only "${ep.cert === undefined ? 'key' : 'cert'}")`);
  }
  const files: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  for (const field of ['ca', 'cert', 'key'] as const) {
    const path = ep[field];
    if (path === undefined) continue;
    const read = readRegularFileSync(path);
    if (!read.ok) return fail(ep.name, `cannot read ${field} file "${path}": ${read.error}`);
    files[field] = read.value;
  }
  return { ok: true, files };
}

function parseUrl(host: string): URL | null {
  try {
    return new URL(host);
  } catch {
    return null;
  }
}

const emptyPath = (url: URL): boolean =>
  (url.pathname === '' || url.pathname === '/') && url.search === '' && url.hash === '';

/** IPv6 literals come bracketed from URL; sockets want them bare. */
const bare = (hostname: string): string => hostname.replace(/^\[(.*)\]$/, '$1');

const fail = (name: string, why: string): { ok: false; message: string } => ({
  ok: false,
  message: `docker endpoint "${name}": ${why}`,
});
