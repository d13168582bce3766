// The leader lease's round trips to Redis, each one atomic Lua script over the installation's leader
// and fence keys (keys.ts), and how their replies read.
import { fenceKey, leaderKey } from './keys.js';
import type { ScriptRunner } from './redis-connection.js';

export interface LeaderInfo {
  id: string;
  token: number;
}

// SET NX first so the fence only moves when the lease is really taken. ARGV[3] is the highest token
// this replica has seen: if Redis lost its data (restart without persistence) the fence restarts
// from there instead of 1, so a stale holder's token never outranks the new leader's.
const ACQUIRE = `
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0, tonumber(redis.call('GET', KEYS[2]) or '0')}
end
local floor = tonumber(ARGV[3])
if tonumber(redis.call('GET', KEYS[2]) or '0') < floor then redis.call('SET', KEYS[2], floor) end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
return {1, token}`;

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, tonumber(redis.call('GET', KEYS[2]) or '0')}
end
return {0, tonumber(redis.call('GET', KEYS[2]) or '0')}`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const READ = `return redis.call('GET', KEYS[1])`;

/** The value the leader key holds during one tenure. */
export const tenureValue = (id: string, token: number): string => `${id}|${token}`;

export class LeaseScripts {
  private readonly leader: string;
  private readonly fence: string;

  constructor(
    private readonly redis: ScriptRunner,
    prefix: string,
  ) {
    this.leader = leaderKey(prefix);
    this.fence = fenceKey(prefix);
  }

  /** [won, token if won else the current fence]; the fence is raised to `floor` first. */
  async acquire(id: string, ttlMs: number, floor: number): Promise<[boolean, number]> {
    return pair(await this.redis.eval(ACQUIRE, 2, this.leader, this.fence, id, ttlMs, floor));
  }

  /** [still ours, the current fence]; extends the lease only while it still holds `value`. */
  async renew(value: string, ttlMs: number): Promise<[boolean, number]> {
    return pair(await this.redis.eval(RENEW, 2, this.leader, this.fence, value, ttlMs));
  }

  /** Deletes the lease only if it still holds exactly `value` (this tenure). */
  async release(value: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.leader, value);
  }

  async read(): Promise<LeaderInfo | null> {
    const v = await this.redis.eval(READ, 1, this.leader);
    return typeof v === 'string' ? parseLeader(v) : null;
  }
}

/** `<id>|<token>`; the id may itself contain "|", the token never does. */
export function parseLeader(value: string): LeaderInfo | null {
  const i = value.lastIndexOf('|');
  const token = Number(value.slice(i + 1));
  if (i <= 0 || !Number.isSafeInteger(token) || token <= 0) return null;
  return { id: value.slice(0, i), token };
}

function pair(reply: unknown): [boolean, number] {
  if (!Array.isArray(reply) || reply.length !== 2)
    throw new Error(`unexpected lease script reply: ${JSON.stringify(reply)}`);
  return [Number(reply[0]) === 1, Number(reply[1])];
}
