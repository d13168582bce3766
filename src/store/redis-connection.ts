// The ioredis connections of a RedisStore: opening the pair it needs (one for commands, one that only
// subscribes, since Redis reserves a subscribed connection for pub/sub), and closing one. Every wait
// is bounded: a Redis that does not answer must make startup fail, never hang.
import type { Cluster, Redis } from 'ioredis';
import { withTimeout } from '../domain/async.js';
import { errorMessage } from '../domain/errors.js';
import { lazyPackage } from '../lazy-package.js';
import type { IoredisSpec } from './redis-url.js';

const ioredis = lazyPackage<typeof import('ioredis')>('ioredis');

export type Connection = Redis | Cluster;

const QUIT_MS = 1_000;

export function open(spec: IoredisSpec): Connection {
  return spec.mode === 'cluster'
    ? new (ioredis().Cluster)(spec.nodes, spec.options)
    : new (ioredis().Redis)(spec.options);
}

function ready(conn: Connection): Promise<void> {
  if (conn.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => conn.once('ready', () => resolve()));
}

/**
 * Both connections ready and the subscriber subscribed to `channel` within `ms`. On failure both are
 * dropped and the error says why, preferring what the connections reported over the bare timeout.
 */
export async function openPair(spec: IoredisSpec, channel: string, ms: number): Promise<[Connection, Connection]> {
  const main = open(spec);
  const sub = open(spec);
  let lastError = '';
  const remember = (e: Error): void => void (lastError = e.message);
  for (const c of [main, sub]) c.on('error', remember);
  try {
    await withTimeout(Promise.all([ready(main), ready(sub)]), ms, 'waiting for the connections');
    await withTimeout(sub.subscribe(channel), ms, `subscribing to ${channel}`);
  } catch (e) {
    // `remember` stays attached: a dropped connection may still report, and must not go unheard.
    main.disconnect();
    sub.disconnect();
    throw new Error(lastError || errorMessage(e));
  }
  for (const c of [main, sub]) c.off('error', remember);
  return [main, sub];
}

export async function quit(conn: Connection): Promise<void> {
  try {
    if (conn.status === 'ready') await withTimeout(conn.quit(), QUIT_MS, 'QUIT');
  } catch {
    // Unanswered QUIT: the disconnect below still ends the connection and stops reconnecting.
  } finally {
    conn.disconnect();
  }
}

/** Every key matching `pattern` on every master (a Cluster spreads one installation's keys on one). */
export async function scanKeys(conn: Connection, pattern: string): Promise<Set<string>> {
  const nodes = conn instanceof ioredis().Cluster ? conn.nodes('master') : [conn];
  const found = new Set<string>();
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      for (const k of batch) found.add(k);
      cursor = next;
    } while (cursor !== '0');
  }
  return found;
}

/** `s` matched literally inside a SCAN MATCH pattern. */
export function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

/** The part of an ioredis `Redis` (or `Cluster`) that runs one Lua script (lease, replica registry). */
export interface ScriptRunner {
  eval(script: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
}
