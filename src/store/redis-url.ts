// Redis connection URLs -> ioredis constructor options. Pure, so every form is unit-testable without
// a server. The options always disable the offline queue and bound every wait: a state store that
// queues commands while Redis is down would make the controller hang instead of holding.
import type { ClusterOptions, RedisOptions } from 'ioredis';
import { assertNever, ConfigError } from '../domain/errors.js';

export type RedisMode = 'standalone' | 'sentinel' | 'cluster';

export interface HostPort {
  host: string;
  port: number;
}

export interface RedisUrl {
  mode: RedisMode;
  tls: boolean;
  /** standalone: exactly one; sentinel: the sentinels; cluster: the seed nodes. */
  hosts: HostPort[];
  username?: string;
  password?: string;
  db: number;
  /** sentinel only */
  masterName?: string;
}

export interface ConnectionTuning {
  commandTimeoutMs: number;
  connectTimeoutMs: number;
}

export type IoredisSpec =
  | { mode: 'standalone' | 'sentinel'; options: RedisOptions }
  | { mode: 'cluster'; nodes: HostPort[]; options: ClusterOptions };

const SCHEMES: Record<string, { mode: RedisMode; tls: boolean; defaultPort: number }> = {
  'redis:': { mode: 'standalone', tls: false, defaultPort: 6379 },
  'rediss:': { mode: 'standalone', tls: true, defaultPort: 6379 },
  'redis+sentinel:': { mode: 'sentinel', tls: false, defaultPort: 26379 },
  'rediss+sentinel:': { mode: 'sentinel', tls: true, defaultPort: 26379 },
  'redis+cluster:': { mode: 'cluster', tls: false, defaultPort: 6379 },
  'rediss+cluster:': { mode: 'cluster', tls: true, defaultPort: 6379 },
};

const FORMS =
  'redis://[:pass@]host:port[/db], rediss://…, redis+sentinel://[:pass@]h1:26379,h2:26379/<master>[/db] ' +
  'or redis+cluster://h1:7000,h2:7001';

/** The URL with any password replaced by `***`; safe for logs and error messages even when malformed. */
export function redactRedisUrl(url: string): string {
  const start = url.indexOf('://');
  const at = url.lastIndexOf('@');
  if (start < 0 || at < start) return url;
  const userinfo = url.slice(start + 3, at);
  const colon = userinfo.indexOf(':');
  const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
  return `${url.slice(0, start + 3)}${user}${colon < 0 ? '' : ':***'}${url.slice(at)}`;
}

/** Throws ConfigError (path `state.redis`) naming the redacted URL and the accepted forms. */
export function parseRedisUrl(url: string): RedisUrl {
  const fail = (why: string): never => {
    throw new ConfigError(`invalid Redis URL ${redactRedisUrl(url)}: ${why}`, [
      { path: 'state.redis', message: `${why}; expected ${FORMS}` },
    ]);
  };
  const sep = url.indexOf('://');
  const scheme = SCHEMES[url.slice(0, sep + 1).toLowerCase()];
  if (sep < 0 || !scheme) return fail('unknown scheme');
  if (url.includes('?') || url.includes('#')) return fail('query parameters and fragments are not supported');
  let rest = url.slice(sep + 3);
  const at = rest.lastIndexOf('@');
  const auth = at < 0 ? {} : parseUserinfo(rest.slice(0, at), fail);
  rest = rest.slice(at + 1);
  const slash = rest.indexOf('/');
  const hostPart = slash < 0 ? rest : rest.slice(0, slash);
  const path = (slash < 0 ? '' : rest.slice(slash + 1)).split('/').filter((s) => s !== '');
  const hosts = hostPart.split(',').map((h) => parseHostPort(h, scheme.defaultPort, fail));
  if (scheme.mode === 'standalone' && hosts.length !== 1)
    fail('exactly one host expected (use redis+sentinel:// or redis+cluster:// for several)');
  const base = { mode: scheme.mode, tls: scheme.tls, hosts, ...auth };
  switch (scheme.mode) {
    case 'standalone':
      if (path.length > 1) fail('the path can only be a database number');
      return { ...base, db: parseDb(path[0], fail) };
    case 'sentinel': {
      const [masterName, db, ...extra] = path;
      if (!masterName || extra.length > 0) return fail('the path must be /<masterName>[/db]');
      return { ...base, masterName: decode(masterName, fail), db: parseDb(db, fail) };
    }
    case 'cluster':
      if (path.length > 1 || parseDb(path[0], fail) !== 0) fail('Redis Cluster has only database 0');
      return { ...base, db: 0 };
    default:
      return assertNever(scheme.mode, 'redis mode');
  }
}

function parseUserinfo(userinfo: string, fail: (why: string) => never): { username?: string; password?: string } {
  const colon = userinfo.indexOf(':');
  const username = decode(colon < 0 ? userinfo : userinfo.slice(0, colon), fail);
  const password = colon < 0 ? '' : decode(userinfo.slice(colon + 1), fail);
  return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

function parseHostPort(text: string, defaultPort: number, fail: (why: string) => never): HostPort {
  // IPv6 literals come bracketed ("[::1]:6379"), so the port is whatever follows the bracket.
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+))(?::(\d{1,5}))?$/.exec(text);
  if (!m) return fail(`bad host "${text}"`);
  const port = m[3] === undefined ? defaultPort : Number(m[3]);
  if (port < 1 || port > 65535) fail(`port ${port} out of range`);
  return { host: m[1] ?? m[2] ?? '', port };
}

function parseDb(text: string | undefined, fail: (why: string) => never): number {
  if (text === undefined) return 0;
  if (!/^\d{1,5}$/.test(text)) return fail(`database "${text}" is not a number`);
  return Number(text);
}

function decode(text: string, fail: (why: string) => never): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return fail('bad percent-encoding');
  }
}

/** Reconnect forever (Redis must be picked up again when it returns) but never wait long between tries. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(Math.max(attempt - 1, 0), 6), 2_000);
}

/** Options shared by every connection to one node, whatever the mode. */
function nodeOptions(u: RedisUrl, t: ConnectionTuning): RedisOptions {
  return {
    ...(u.username !== undefined ? { username: u.username } : {}),
    ...(u.password !== undefined ? { password: u.password } : {}),
    ...(u.tls ? { tls: {} } : {}),
    commandTimeout: t.commandTimeoutMs,
    connectTimeout: t.connectTimeoutMs,
    // A command whose connection dropped has an unknown outcome; its caller already got an error,
    // so replaying it on reconnect would be a write nobody is waiting for.
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    // After a sentinel failover the old master answers READONLY: reconnect to find the new one.
    reconnectOnError: (e: Error) => e.message.startsWith('READONLY'),
  };
}

export function ioredisOptions(u: RedisUrl, t: ConnectionTuning): IoredisSpec {
  const node = nodeOptions(u, t);
  switch (u.mode) {
    case 'standalone': {
      const [only] = u.hosts;
      return {
        mode: 'standalone',
        options: { ...node, ...only, db: u.db, enableOfflineQueue: false, retryStrategy: reconnectDelayMs },
      };
    }
    case 'sentinel': {
      const tls = u.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {};
      // The password is the master's: sentinels usually run without one, and AUTH against a
      // password-less sentinel fails the connection.
      const options: RedisOptions = { ...node, ...tls, sentinels: u.hosts, name: u.masterName ?? '', db: u.db };
      return {
        mode: 'sentinel',
        options: {
          ...options,
          enableOfflineQueue: false,
          retryStrategy: reconnectDelayMs,
          sentinelRetryStrategy: reconnectDelayMs,
        },
      };
    }
    case 'cluster':
      // Cluster takes the queue and retry settings at the top level and per-node ones in redisOptions.
      return {
        mode: 'cluster',
        nodes: u.hosts,
        options: {
          enableOfflineQueue: false,
          clusterRetryStrategy: reconnectDelayMs,
          slotsRefreshTimeout: t.commandTimeoutMs,
          redisOptions: node,
        },
      };
    default:
      return assertNever(u.mode, 'redis mode');
  }
}
