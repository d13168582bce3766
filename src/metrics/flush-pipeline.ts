// The slice of ioredis a metrics flush uses (ioredis' `Redis#pipeline()` fits), and how its per-command
// replies are read: a record counts as shipped only if every one of its commands applied.

export interface FlushPipeline {
  hincrby(key: string, field: string, increment: number): FlushPipeline;
  expire(key: string, seconds: number): FlushPipeline;
  zadd(key: string, ...args: (string | number)[]): FlushPipeline;
  zremrangebyscore(key: string, min: string, max: string): FlushPipeline;
  zrem(key: string, member: string): FlushPipeline;
  exec(): Promise<[Error | null, unknown][] | null>;
}

export interface FlushRedis {
  pipeline(): FlushPipeline;
  /** The probe that says Redis answers again before a backlog is sent to it. */
  ping(): Promise<unknown>;
  /** ioredis' connection state: commands go out only when 'ready' (no offline queue). Absent: unknown. */
  readonly status?: string;
}

/** How one flush ended ('busy': a previous round trip is still unanswered). */
export type FlushOutcome = 'sent' | 'idle' | 'failed' | 'timeout' | 'busy';

/** Per-command replies of one exec, or why there were none. */
export type Replies = [Error | null, unknown][] | Error;

/** How many of the `span` commands from `at` failed (all of them when the round trip did). */
export function countErrors(replies: Replies, at: number, span: number): number {
  if (replies instanceof Error) return span;
  let n = 0;
  for (let i = at; i < at + span; i++) if (!replies[i] || replies[i]?.[0]) n++;
  return n;
}

/**
 * ioredis' refusals to send, with no connection to send on (enableOfflineQueue is off; a cluster never reached):
 * nothing reached Redis. "Connection is closed." is not one: ioredis also says it of commands already written.
 */
const NO_QUEUE = /^(Stream isn't writeable|Cluster isn't ready) and enableOfflineQueue options is false$/;
const UNSENT = (message: string): boolean => NO_QUEUE.test(message) || message === 'None of startup nodes is available';

/**
 * Whether every failed one of the `span` commands from `at` is known not to have applied: Redis answered it
 * with an error, or it was never sent. A timeout, or a connection lost after sending, leaves it unknown: Redis
 * may have applied it, or may still, so sending it again could count it twice.
 */
export function surelyUnapplied(replies: Replies, at: number, span: number): boolean {
  if (replies instanceof Error) return unapplied(replies);
  for (let i = at; i < at + span; i++) {
    const reply = replies[i];
    if (reply === undefined) return false;
    if (reply[0] !== null && !unapplied(reply[0])) return false;
  }
  return true;
}

const unapplied = (e: Error): boolean => e.name === 'ReplyError' || UNSENT(e.message);

/**
 * Why Redis cannot take a flush now, or null: never while the client is not connected (it would refuse each
 * command, at a cost), and after a failure (`probe`) only once a PING is answered.
 */
export async function unreachable(redis: FlushRedis, probe: boolean): Promise<Error | null> {
  const status = redis.status;
  if (status !== undefined && status !== 'ready') return new Error(`redis connection is ${status}`);
  if (!probe) return null;
  try {
    await redis.ping();
    return null;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}
