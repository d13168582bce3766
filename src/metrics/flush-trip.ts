// One round trip of a metrics flush (flusher.ts): the oldest share of the backlog, at most `budget` commands so
// that building it never holds the event loop long, and the any-replica marker once that share empties the
// backlog, all in one pipeline. The flusher decides what the replies mean. And the round trip of its own mark.
import type { FlushBuffer, PoolQueue, Taken } from './flush-buffer.js';
import type { FlushPipeline, FlushRedis, Replies } from './flush-pipeline.js';
import { FLUSHED_MEMBER, flushedMarkerKey, hashIncrements, metricKey } from './second-hash.js';
import type { SecondRecord } from './window.js';

export interface TripSpec {
  prefix: string;
  ttlSeconds: number;
  /** Commands at most (one record more when a single record is larger). */
  budget: number;
  /** The marker's second, sent with the trip that empties the backlog; null: none to send. */
  marker: number | null;
  /** Whole seconds added to each record's second: the key names the second on Redis's clock. */
  ahead: number;
}

export interface Trip {
  readonly queues: Taken[];
  /** Each record's HINCRBY count, in order; one EXPIRE follows each record's increments. */
  readonly spans: number[];
  /** The marker's second when this trip carries it (its ZADD follows every record's commands). */
  readonly marker: number | null;
  /** Sends it: a round trip that failed as a whole gives its Error in place of the replies, never a rejection. */
  exec(): Promise<Replies>;
}

export function buildTrip(redis: FlushRedis, buffer: FlushBuffer, o: TripSpec): Trip {
  const p = redis.pipeline();
  const spans: number[] = [];
  const queues = buffer.take(o.budget, (q, rec) => {
    const span = addRecord(p, q, rec, o);
    spans.push(span);
    return span + 1;
  });
  const marker = buffer.size === 0 ? o.marker : null;
  const key = flushedMarkerKey(o.prefix);
  if (marker !== null) p.zadd(key, 'GT', marker, FLUSHED_MEMBER).expire(key, o.ttlSeconds);
  const exec = async (): Promise<Replies> => {
    try {
      return (await p.exec()) ?? new Error('pipeline aborted');
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  };
  return { queues, spans, marker, exec };
}

/** Queues one record's commands; returns how many HINCRBYs (the EXPIRE after them not counted). */
function addRecord(p: FlushPipeline, q: PoolQueue, rec: SecondRecord, o: TripSpec): number {
  const key = metricKey(o.prefix, q.service, q.pool, rec.sec + o.ahead);
  const increments = hashIncrements(rec);
  for (const [field, by] of increments) p.hincrby(key, field, by);
  p.expire(key, o.ttlSeconds);
  return increments.length;
}

/** This replica's own mark (flush-marks.ts) set to `upTo`, or removed when it leaves; true once applied. */
export async function sendMark(
  redis: FlushRedis,
  o: { prefix: string; ttlSeconds: number },
  mark: string,
  own: 'mark' | 'unmark',
  upTo: number,
): Promise<boolean> {
  const key = flushedMarkerKey(o.prefix);
  const p = redis.pipeline();
  if (own === 'unmark') p.zrem(key, mark);
  else
    p.zadd(key, 'GT', upTo, mark)
      .zremrangebyscore(key, '-inf', `(${upTo - o.ttlSeconds}`)
      .expire(key, o.ttlSeconds);
  const replies = await p.exec().catch(() => null);
  return replies?.[0]?.[0] === null;
}
