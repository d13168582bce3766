// Turns one configured Docker endpoint (docker.endpoints[]) into dockerode options. Pure apart from
// reading TLS files, so a bad host or an unreadable certificate is reported at config time, naming
// the endpoint, instead of surfacing later as an obscure connection error.
import { readFileSync } from 'node:fs';
import type Docker from 'dockerode';
import { errorMessage } from '../domain/errors.js';

export interface EndpointConfig {
  name: string;
  host: string;
  ca?: string;
  cert?: string;
  key?: string;
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
      return sshOptions(ep.name, host);
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

function sshOptions(name: string, host: string): EndpointOptions {
  const url = parseUrl(host);
  if (url === null || url.hostname === '' || url.password !== '' || !emptyPath(url)) {
    return fail(name, `host "${host}" is not a valid ssh://[user@]host[:port] address`);
  }
  const agent = process.env.SSH_AUTH_SOCK;
  const options: Docker.DockerOptions = {
    ...NEUTRAL,
    protocol: 'ssh',
    host: bare(url.hostname),
    port: url.port === '' ? 22 : Number(url.port),
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    sshOptions: agent ? { agent } : {},
  };
  return { ok: true, options, publishedHost: url.hostname };
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
    try {
      files[field] = readFileSync(path);
    } catch (e) {
      return fail(ep.name, `cannot read ${field} file "${path}": ${errorMessage(e)}`);
    }
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
