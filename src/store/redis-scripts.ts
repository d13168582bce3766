// The state store's writes as Lua scripts, and how their replies and change messages are read. Each
// write is one script (compare the version, check the fence, write, publish), so the compare-and-set,
// the fencing check and the change notification are atomic.
import { STATE_FIELD } from './keys.js';
import type { PutResult } from './port.js';
import type { Connection } from './redis-connection.js';

export type FencedPutResult = PutResult | { ok: false; reason: 'fenced'; currentFence: number };

const { version: V, data: D } = STATE_FIELD;

// KEYS: state, fence. ARGV: expected ('' = unconditional), data, token ('' = unfenced), channel, key.
// The fence is checked first: a deposed leader learns it is deposed, not merely that it raced.
const PUT = `
local cur = tonumber(redis.call('HGET', KEYS[1], '${V}') or '0')
if ARGV[3] ~= '' then
  local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
  if tonumber(ARGV[3]) < fence then return {-1, fence} end
end
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= cur then return {0, cur} end
local v = cur + 1
redis.call('HSET', KEYS[1], '${V}', v, '${D}', ARGV[2])
redis.call('PUBLISH', ARGV[4], cjson.encode({key = ARGV[5], version = v}))
return {1, v}`;

// KEYS: state. ARGV: channel, key. Version 0 in the change message means "deleted".
const DELETE = `
if redis.call('DEL', KEYS[1]) == 1 then
  redis.call('PUBLISH', ARGV[1], cjson.encode({key = ARGV[2], version = 0}))
end
return 0`;

export interface StoreScripts {
  veerStorePut(
    stateKey: string,
    fenceKey: string,
    expected: string,
    data: string,
    token: string,
    channel: string,
    key: string,
  ): Promise<unknown>;
  veerStoreDelete(stateKey: string, channel: string, key: string): Promise<unknown>;
}

/** Registers the scripts on `conn` (ioredis sends EVALSHA, and the script itself when Redis lacks it). */
export function defineScripts(conn: Connection): StoreScripts {
  conn.defineCommand('veerStorePut', { numberOfKeys: 2, lua: PUT });
  conn.defineCommand('veerStoreDelete', { numberOfKeys: 1, lua: DELETE });
  return conn as unknown as StoreScripts;
}

export function decodePut(reply: unknown): FencedPutResult {
  if (!Array.isArray(reply) || reply.length !== 2)
    throw new Error(`unexpected put script reply: ${JSON.stringify(reply)}`);
  const [kind, n] = reply.map(Number) as [number, number];
  if (kind === 1) return { ok: true, version: n };
  if (kind === 0) return { ok: false, reason: 'version-conflict', currentVersion: n };
  return { ok: false, reason: 'fenced', currentFence: n };
}

/** A message of the changes channel, or null when it is not one. */
export function parseChange(message: string): { key: string; version: number } | null {
  try {
    const m = JSON.parse(message) as { key?: unknown; version?: unknown };
    return typeof m.key === 'string' && typeof m.version === 'number' ? { key: m.key, version: m.version } : null;
  } catch {
    return null;
  }
}
