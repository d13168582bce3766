// Which veer replicas are alive: each one heartbeats into a sorted set scored by the time it was
// last seen, plus a small hash with how to reach it. Readers prune entries older than the ttl, and
// the hash expires by itself, so a replica killed with SIGKILL disappears without anyone's help.
// The time is Redis's own (TIME), never a replica's clock: a replica whose clock ran ahead pruned every
// other one from the set, and one behind dropped out of the others' lists. Each heartbeat answers with that
// time, and so measures how far this replica's clock is off (clock-offset.ts).
import { systemClock, type Clock } from '../domain/clock.js';
import { errorMessage } from '../domain/errors.js';
import { silentLogger, type Logger } from '../domain/log.js';
import type { ClockOffset } from './clock-offset.js';
import { replicaHashPrefix, replicasKey } from './keys.js';
import type { ScriptRunner } from './redis-connection.js';

export interface ReplicaInfo {
  adminUrl: string;
  version: string;
}

export interface ReplicaEntry {
  id: string;
  /** ISO-8601 time of the replica's last heartbeat (by Redis's clock). */
  seenAt: string;
  adminUrl: string;
  version: string;
}

export interface ReplicaRegistryOptions {
  prefix: string;
  id: string;
  info: ReplicaInfo;
  everyMs?: number;
  ttlMs?: number;
  log?: Logger;
  /** Fed each heartbeat's round trip (by `clock`) and Redis's time in it. */
  offset?: ClockOffset;
  clock?: Clock;
}

// The per-replica hash (ARGV[4] .. id, see keys.ts) shares the installation's hash tag, so in Cluster
// it lives in the same slot as KEYS[1] even though the script builds its name.
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const BEAT = `${NOW_MS}
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local h = ARGV[3] .. ARGV[1]
redis.call('HSET', h, 'adminUrl', ARGV[4], 'version', ARGV[5], 'seenAt', now)
redis.call('PEXPIRE', h, ARGV[2])
return now`;

const LIST = `${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[1])))
local ids = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local out = {}
for i = 1, #ids, 2 do
  local f = redis.call('HMGET', ARGV[2] .. ids[i], 'adminUrl', 'version')
  if f[1] then table.insert(out, {ids[i], ids[i + 1], f[1], f[2] or ''}) end
end
return out`;

const LEAVE = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', ARGV[2] .. ARGV[1])
return 1`;

/** How long a heartbeat says a replica is alive (readers of the registry's sorted set share it). */
export const REPLICA_TTL_MS = 5_000;

export class ReplicaRegistry {
  private readonly keys: { set: string; hashPrefix: string };
  private readonly everyMs: number;
  private readonly ttlMs: number;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;

  constructor(
    private readonly redis: ScriptRunner,
    private readonly o: ReplicaRegistryOptions,
  ) {
    this.keys = { set: replicasKey(o.prefix), hashPrefix: replicaHashPrefix(o.prefix) };
    this.everyMs = o.everyMs ?? 1000;
    this.ttlMs = o.ttlMs ?? REPLICA_TTL_MS;
    if (this.everyMs >= this.ttlMs) throw new RangeError('everyMs must be shorter than ttlMs');
    this.log = o.log ?? silentLogger;
  }

  get id(): string {
    return this.o.id;
  }

  /** Heartbeats at once, then every everyMs; resolves after the first beat (never rejects). */
  async start(): Promise<void> {
    if (this.timer) return;
    this.timer = setInterval(() => void this.beat(), this.everyMs);
    this.timer.unref();
    await this.beat();
  }

  /** Stops heartbeating and removes this replica at once (best effort: the ttl covers failures). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // A heartbeat still travelling would otherwise land after the removal and re-add us.
    await this.beating;
    try {
      await this.redis.eval(LEAVE, 1, this.keys.set, this.o.id, this.keys.hashPrefix);
    } catch (e) {
      this.log.log('warn', 'replica deregistration failed; it expires by itself', { error: errorMessage(e) });
    }
  }

  /** Replicas seen within ttlMs, by id; older entries are pruned on the way. */
  async list(): Promise<ReplicaEntry[]> {
    const reply = await this.redis.eval(LIST, 1, this.keys.set, this.ttlMs, this.keys.hashPrefix);
    if (!Array.isArray(reply)) throw new Error(`unexpected replica list reply: ${JSON.stringify(reply)}`);
    return reply.map(toEntry).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** One heartbeat at a time: a slow one is not stacked up behind. */
  private beat(): Promise<void> {
    this.beating ??= this.beatOnce().finally(() => {
      this.beating = null;
    });
    return this.beating;
  }

  private async beatOnce(): Promise<void> {
    const { adminUrl, version } = this.o.info;
    const clock = this.o.clock ?? systemClock;
    try {
      const sent = clock.now();
      const { set, hashPrefix } = this.keys;
      const now = await this.redis.eval(BEAT, 1, set, this.o.id, this.ttlMs, hashPrefix, adminUrl, version);
      this.o.offset?.sample(Number(now), sent, clock.now());
    } catch (e) {
      this.log.log('debug', 'replica heartbeat failed', { error: errorMessage(e) });
    }
  }
}

function toEntry(row: unknown): ReplicaEntry {
  if (!Array.isArray(row) || row.length !== 4) throw new Error(`unexpected replica row: ${JSON.stringify(row)}`);
  const [id, score, adminUrl, version] = row.map(String) as [string, string, string, string];
  return { id, seenAt: new Date(Number(score)).toISOString(), adminUrl, version };
}
