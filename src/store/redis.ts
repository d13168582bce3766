// The shared store of a group of veer replicas. Each value is a hash {v: version, d: JSON}; every write
// is one Lua script (redis-scripts.ts), so the CAS, the fencing check and the change notification are
// atomic. Every key of an installation carries the hash tag `{prefix}` (keys.ts) so the scripts also
// run in Redis Cluster. Pub/sub loses messages while disconnected, so consumers re-read on
// onReconnect (and on their own timer).
import { ConfigError, UnavailableError, VeerError, errorMessage } from '../domain/errors.js';
import { silentLogger, type Logger } from '../domain/log.js';
import { changesChannel, fenceKey, stateKey, STATE_FIELD } from './keys.js';
import type { PutResult, StateStore, Versioned } from './port.js';
import { globEscape, openPair, quit, scanKeys, type Connection } from './redis-connection.js';
import { decodePut, defineScripts, parseChange, type FencedPutResult, type StoreScripts } from './redis-scripts.js';
import { ioredisOptions, parseRedisUrl, redactRedisUrl } from './redis-url.js';

export type { Connection } from './redis-connection.js';
export type { FencedPutResult } from './redis-scripts.js';

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

// Redis answers that mean "not now" rather than "your command is wrong".
const TRANSIENT_REPLY = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|NOREPLICAS)\b/;

export class RedisStore implements StateStore {
  private closing: Promise<void> | null = null;
  private reconnectPending = false;
  private readonly changeListeners = new Set<(key: string, version: number) => void>();
  private readonly reconnectListeners = new Set<() => void>();
  private readonly scripts: StoreScripts;

  private constructor(
    private readonly main: Connection,
    private readonly sub: Connection,
    readonly prefix: string,
    private readonly display: string,
    private readonly log: Logger,
  ) {
    this.scripts = defineScripts(main);
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
    let main: Connection, sub: Connection;
    try {
      [main, sub] = await openPair(spec, changesChannel(opts.prefix), connectTimeoutMs);
    } catch (e) {
      const why = errorMessage(e);
      throw new RedisUnavailableError(`cannot reach Redis at ${display} within ${connectTimeoutMs} ms: ${why}`);
    }
    for (const c of [main, sub])
      c.on('error', (e: Error) => log.log('debug', 'redis connection error', { url: display, error: e.message }));
    log.log('info', 'redis state store connected', { url: display, prefix: opts.prefix });
    return new RedisStore(main, sub, opts.prefix, display, log);
  }

  get<T>(key: string): Promise<Versioned<T> | null> {
    return this.call(async () => {
      const [v, d] = await this.main.hmget(stateKey(this.prefix, key), STATE_FIELD.version, STATE_FIELD.data);
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
      await this.scripts.veerStoreDelete(stateKey(this.prefix, key), changesChannel(this.prefix), key);
    });
  }

  keys(prefix: string): Promise<string[]> {
    return this.call(async () => {
      const stateBase = stateKey(this.prefix, '');
      const found = await scanKeys(this.main, `${globEscape(stateBase)}${globEscape(prefix)}*`);
      return [...found].map((k) => k.slice(stateBase.length)).sort();
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
    const p = this.prefix;
    return this.call(async () =>
      decodePut(
        await this.scripts.veerStorePut(stateKey(p, key), fenceKey(p), expected, data, token, changesChannel(p), key),
      ),
    );
  }

  private async call<T>(op: () => Promise<T>): Promise<T> {
    if (this.closing) throw new UnavailableError('state store is closed');
    try {
      return await op();
    } catch (e) {
      throw toStoreError(e, this.display);
    }
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
        this.log.log('error', 'redis store listener failed', { error: errorMessage(e) });
      }
    }
  }
}

/** Connection trouble becomes UnavailableError; a genuine error reply (a bug) passes through as is. */
function toStoreError(e: unknown, display: string): unknown {
  if (e instanceof VeerError || e instanceof TypeError || e instanceof SyntaxError) return e;
  const msg = errorMessage(e);
  if (e instanceof Error && e.name === 'ReplyError' && !TRANSIENT_REPLY.test(msg)) return e;
  return new UnavailableError(`redis unavailable at ${display}: ${msg}`);
}
