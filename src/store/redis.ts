// The shared store of a group of veer replicas. Each value is a hash {v: version, d: JSON}; every write
// is one Lua script (compare version, check the fence, write, publish), so the CAS, the fencing check
// and the change notification are atomic. Every key of an installation carries the hash tag
// `{prefix}` so the scripts also run in Redis Cluster. Pub/sub loses messages while disconnected, so
// consumers re-read on onReconnect (and on their own timer).
import { Cluster, Redis } from 'ioredis';
import { ConfigError, UnavailableError, VeerError } from '../domain/errors.js';
import { silentLogger, type Logger } from '../domain/log.js';
import type { PutResult, StateStore, Versioned } from './port.js';
import { ioredisOptions, parseRedisUrl, redactRedisUrl, type IoredisSpec } from './redis-url.js';

export type Connection = Redis | Cluster;
export type FencedPutResult = PutResult | { ok: false; reason: 'fenced'; currentFence: number };

export interface RedisStoreOptions {
  prefix: string;
  log?: Logger;
  commandTimeoutMs?: number;
  /** How long connect() waits for both connections to be ready. */
  connectTimeoutMs?: number;
}

/** Redis could not be reached at startup; names the URL without its password. */
export class RedisUnavailableError extends VeerError {
  constructor(message: string) {
    super('redis_unavailable', 503, message);
  }
}

const base = (prefix: string): string => `${prefix}:{${prefix}}`;
export const keyOf = (prefix: string, key: string): string => `${base(prefix)}:state:${key}`;
export const fenceKey = (prefix: string): string => `${base(prefix)}:fence`;
export const changesChannel = (prefix: string): string => `${base(prefix)}:changes`;

// KEYS: state, fence. ARGV: expected ('' = unconditional), data, token ('' = unfenced), channel, key.
// The fence is checked first: a deposed leader learns it is deposed, not merely that it raced.
const PUT = `
local cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if ARGV[3] ~= '' then
  local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
  if tonumber(ARGV[3]) < fence then return {-1, fence} end
end
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= cur then return {0, cur} end
local v = cur + 1
redis.call('HSET', KEYS[1], 'v', v, 'd', ARGV[2])
redis.call('PUBLISH', ARGV[4], cjson.encode({key = ARGV[5], version = v}))
return {1, v}`;

// Version 0 in the change message means "deleted".
const DELETE = `
if redis.call('DEL', KEYS[1]) == 1 then
  redis.call('PUBLISH', ARGV[1], cjson.encode({key = ARGV[2], version = 0}))
end
return 0`;

interface StoreScripts {
  veerStorePut(...args: string[]): Promise<unknown>;
  veerStoreDelete(...args: string[]): Promise<unknown>;
}

// Redis answers that mean "not now" rather than "your command is wrong".
const TRANSIENT_REPLY = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|NOREPLICAS)\b/;

export class RedisStore implements StateStore {
  private closing: Promise<void> | null = null;
  private reconnectPending = false;
  private readonly changeListeners = new Set<(key: string, version: number) => void>();
  private readonly reconnectListeners = new Set<() => void>();
  private readonly log: Logger;

  private constructor(
    private readonly main: Connection,
    private readonly sub: Connection,
    readonly prefix: string,
    private readonly display: string,
    log: Logger,
  ) {
    this.log = log;
    sub.on('message', (channel: string, message: string) => this.dispatch(channel, message));
    for (const [name, conn] of [
      ['command', main],
      ['subscriber', sub],
    ] as const) {
      conn.on('close', () => this.lost(name));
      conn.on('ready', () => void this.regained());
    }
  }

  static async connect(url: string, opts: RedisStoreOptions): Promise<RedisStore> {
    if (!/^[A-Za-z0-9_.-]+$/.test(opts.prefix))
      throw new ConfigError(`invalid state prefix "${opts.prefix}"`, [
        { path: 'state.prefix', message: 'must be letters, digits, "_", "." or "-"' },
      ]);
    const log = opts.log ?? silentLogger;
    const display = redactRedisUrl(url);
    const connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
    const spec = ioredisOptions(parseRedisUrl(url), {
      commandTimeoutMs: opts.commandTimeoutMs ?? 1_000,
      connectTimeoutMs: Math.min(connectTimeoutMs, 2_000),
    });
    const main = open(spec);
    const sub = open(spec);
    let lastError = '';
    const remember = (e: Error): void => void (lastError = e.message);
    for (const c of [main, sub]) c.on('error', remember);
    try {
      await bounded(Promise.all([ready(main), ready(sub)]), connectTimeoutMs);
      await bounded(sub.subscribe(changesChannel(opts.prefix)), connectTimeoutMs);
    } catch (e) {
      main.disconnect();
      sub.disconnect();
      const why = lastError || (e instanceof Error ? e.message : String(e));
      throw new RedisUnavailableError(`cannot reach Redis at ${display} within ${connectTimeoutMs} ms: ${why}`);
    }
    for (const c of [main, sub])
      c.off('error', remember).on('error', (e: Error) =>
        log.log('debug', 'redis connection error', { url: display, error: e.message }),
      );
    defineScripts(main);
    log.log('info', 'redis state store connected', { url: display, prefix: opts.prefix });
    return new RedisStore(main, sub, opts.prefix, display, log);
  }

  get<T>(key: string): Promise<Versioned<T> | null> {
    return this.call(async () => {
      const [v, d] = await this.main.hmget(keyOf(this.prefix, key), 'v', 'd');
      if (v == null || d == null) return null;
      return { value: JSON.parse(d) as T, version: Number(v) };
    });
  }

  async put<T>(key: string, value: T, expectedVersion?: number): Promise<PutResult> {
    const r = await this.write(key, value, expectedVersion, '');
    if (!r.ok && r.reason === 'fenced') throw new Error('unfenced put reported a fence');
    return r;
  }

  /** Like put, but refused when `token` is below the installation's fence (a newer leader exists). */
  async putFenced<T>(
    key: string,
    value: T,
    expectedVersion: number | undefined,
    token: number,
  ): Promise<FencedPutResult> {
    if (!Number.isSafeInteger(token) || token < 0)
      throw new TypeError(`fencing token must be a non-negative integer, got ${String(token)}`);
    return this.write(key, value, expectedVersion, String(token));
  }

  delete(key: string): Promise<void> {
    return this.call(async () => {
      await this.scripts().veerStoreDelete(keyOf(this.prefix, key), changesChannel(this.prefix), key);
    });
  }

  keys(prefix: string): Promise<string[]> {
    return this.call(async () => {
      const stateBase = keyOf(this.prefix, '');
      const pattern = `${globEscape(stateBase)}${globEscape(prefix)}*`;
      const nodes = this.main instanceof Cluster ? this.main.nodes('master') : [this.main];
      const found = new Set<string>();
      for (const node of nodes) for (const k of await scanAll(node, pattern)) found.add(k.slice(stateBase.length));
      return [...found].sort();
    });
  }

  /** (key, version) for every write or delete (version 0) by any replica, this one included. */
  onChange(listener: (key: string, version: number) => void): () => void {
    this.changeListeners.add(listener);
    return () => void this.changeListeners.delete(listener);
  }

  /** Fires once both connections are back after an outage: changes published meanwhile were lost. */
  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => void this.reconnectListeners.delete(listener);
  }

  status(): 'up' | 'down' {
    return !this.closing && this.main.status === 'ready' && this.sub.status === 'ready' ? 'up' : 'down';
  }

  /** The command connection, for modules that share it (lease, metrics flusher). */
  raw(): Connection {
    return this.main;
  }

  close(): Promise<void> {
    this.closing ??= Promise.all([quit(this.main), quit(this.sub)]).then(() => undefined);
    return this.closing;
  }

  private write(
    key: string,
    value: unknown,
    expectedVersion: number | undefined,
    token: string,
  ): Promise<FencedPutResult> {
    if (expectedVersion !== undefined && !(Number.isInteger(expectedVersion) && expectedVersion >= 0)) {
      throw new TypeError(`expectedVersion must be a non-negative integer, got ${String(expectedVersion)}`);
    }
    const data = JSON.stringify(value);
    if (data === undefined) throw new TypeError('state values must be JSON-serializable');
    const expected = expectedVersion === undefined ? '' : String(expectedVersion);
    return this.call(async () => {
      const reply = await this.scripts().veerStorePut(
        keyOf(this.prefix, key),
        fenceKey(this.prefix),
        expected,
        data,
        token,
        changesChannel(this.prefix),
        key,
      );
      return decodePut(reply);
    });
  }

  private async call<T>(op: () => Promise<T>): Promise<T> {
    if (this.closing) throw new UnavailableError('state store is closed');
    try {
      return await op();
    } catch (e) {
      throw toStoreError(e, this.display);
    }
  }

  private scripts(): StoreScripts {
    return this.main as unknown as StoreScripts;
  }

  private dispatch(channel: string, message: string): void {
    if (channel !== changesChannel(this.prefix)) return;
    const change = parseChange(message);
    if (!change) return this.log.log('warn', 'ignored a malformed change message', { message });
    this.emit(this.changeListeners, (fn) => fn(change.key, change.version));
  }

  private lost(name: 'command' | 'subscriber'): void {
    if (this.closing) return;
    if (!this.reconnectPending) this.log.log('warn', 'redis connection lost', { url: this.display, connection: name });
    this.reconnectPending = true;
  }

  private async regained(): Promise<void> {
    if (this.closing || !this.reconnectPending || this.status() !== 'up') return;
    this.reconnectPending = false;
    // ioredis re-sends SUBSCRIBE before 'ready' reaches us; a PING answered after it proves the
    // subscription is active again, so a consumer's re-read misses nothing.
    await this.sub.ping().catch(() => undefined);
    this.log.log('info', 'redis connection restored', { url: this.display });
    this.emit(this.reconnectListeners, (fn) => fn());
  }

  private emit<L>(listeners: Set<L>, call: (fn: L) => void): void {
    for (const fn of listeners) {
      try {
        call(fn);
      } catch (e) {
        // One consumer's bug must not starve the others of notifications.
        this.log.log('error', 'redis store listener failed', { error: String(e) });
      }
    }
  }
}

function open(spec: IoredisSpec): Connection {
  return spec.mode === 'cluster' ? new Cluster(spec.nodes, spec.options) : new Redis(spec.options);
}

function defineScripts(conn: Connection): void {
  conn.defineCommand('veerStorePut', { numberOfKeys: 2, lua: PUT });
  conn.defineCommand('veerStoreDelete', { numberOfKeys: 1, lua: DELETE });
}

function ready(conn: Connection): Promise<void> {
  if (conn.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => conn.once('ready', () => resolve()));
}

async function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not ready after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function quit(conn: Connection): Promise<void> {
  try {
    if (conn.status === 'ready') await bounded(conn.quit(), 1_000);
  } catch {
    // Unanswered QUIT: the disconnect below still ends the connection and stops reconnecting.
  } finally {
    conn.disconnect();
  }
}

async function scanAll(node: Redis, pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    out.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return out;
}

function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

function decodePut(reply: unknown): FencedPutResult {
  if (!Array.isArray(reply) || reply.length !== 2)
    throw new Error(`unexpected put script reply: ${JSON.stringify(reply)}`);
  const [kind, n] = reply.map(Number) as [number, number];
  if (kind === 1) return { ok: true, version: n };
  if (kind === 0) return { ok: false, reason: 'version-conflict', currentVersion: n };
  return { ok: false, reason: 'fenced', currentFence: n };
}

function parseChange(message: string): { key: string; version: number } | null {
  try {
    const m = JSON.parse(message) as { key?: unknown; version?: unknown };
    return typeof m.key === 'string' && typeof m.version === 'number' ? { key: m.key, version: m.version } : null;
  } catch {
    return null;
  }
}

/** Connection trouble becomes UnavailableError; a genuine error reply (a bug) passes through as is. */
function toStoreError(e: unknown, display: string): unknown {
  if (e instanceof VeerError || e instanceof TypeError || e instanceof SyntaxError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof Error && e.name === 'ReplyError' && !TRANSIENT_REPLY.test(msg)) return e;
  return new UnavailableError(`redis unavailable at ${display}: ${msg}`);
}
