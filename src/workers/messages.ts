// Every message between the primary and its workers: one exhaustive union each way, checked with zod
// on receipt. The config and service sections travel as the primary parsed them (structured clone,
// the `advanced` serialization): only their shape as an object is checked again here.
import { z } from 'zod';
import type { Config, ServiceConfig } from '../config/schema.js';
import type { TargetingRule } from '../domain/targeting.js';
import { BUCKET_COUNT } from '../metrics/histogram.js';
import { LOOP_QUANTILES } from '../metrics/loop-delay.js';
import { LATENESS_EDGES_S } from '../metrics/loop-lateness.js';
import { FAILED_IDS } from '../metrics/failed-requests.js';

const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
const count = z.number().int().nonnegative();
const id = z.number().int().nonnegative();
const address = z.object({ address: z.string(), family: z.string(), port: z.number().int() });
const target = z.object({ host: z.string(), port: z.number().int(), id: z.string() });

const snapshotSchema = z.object({
  services: z.array(
    z.object({
      config: z.custom<ServiceConfig>(isObject, 'expected a service config'),
      weightBp: count,
      stable: z.array(target).readonly(),
      canary: z.array(target).readonly(),
      retryOverride: z.boolean().nullable(),
      targeting: z.array(z.custom<TargetingRule>(isObject, 'expected a targeting rule')).readonly(),
      rolloutId: z.string().nullable(),
      pages: z.string(),
    }),
  ),
  targets: z.array(
    z.object({
      key: z.string(),
      healthy: z.boolean(),
      pending: z.boolean(),
      ready: z.boolean(),
      wasReady: z.boolean(),
    }),
  ),
  maintenance: z.array(
    z.tuple([z.string(), z.object({ mode: z.enum(['hold', 'page']), retryAfterS: z.number().nullable() })]),
  ),
});

const totals = z.object({
  requests: count,
  errors: count,
  connectErrors: count,
  timeouts: count,
  broken: count,
  clientErrors: count,
  latency: z.array(count).length(BUCKET_COUNT),
  clients: z.record(z.string(), count).optional(),
  clients4xx: z.record(z.string(), count).optional(),
});
const second = totals.extend({ sec: z.number().int(), routes: z.record(z.string(), totals).optional() });
const lifetime = totals.omit({ clients: true }).extend({ latencySumMs: z.number().nonnegative(), drainCut: count });

export const toWorkerSchema = z.discriminatedUnion('type', [
  /** The answer to `hello`: what to build the data plane from, then take connections (`tls`: where it listens). */
  z.object({
    type: z.literal('start'),
    config: z.custom<Config>(isObject, 'expected a config'),
    tls: address.nullable(),
    version: id,
    snapshot: snapshotSchema,
  }),
  /** The whole state: answers a worker's `resync`. */
  z.object({ type: z.literal('snapshot'), version: id, snapshot: snapshotSchema }),
  /** What changed since version `base` (snapshot-diff.ts): applied only on top of `base`. */
  z.object({
    type: z.literal('delta'),
    base: id,
    version: id,
    /** `names` null: the same services, in the same order, as at `base`. */
    delta: snapshotSchema.extend({ names: z.array(z.string()).nullable() }),
  }),
  /** A reload's access log section, and its certificates (the whole config, as the TLS front reads it). */
  z.object({ type: z.literal('access-log'), accessLog: z.custom<Config['accessLog']>(isObject, 'expected a section') }),
  z.object({ type: z.literal('certificates'), config: z.custom<Config>(isObject, 'expected a config') }),
  /** A connection the primary accepted (its socket travels with the message): `took` tells it to let go. */
  z.object({ type: z.literal('conn'), id, port: z.enum(['data', 'tls']) }),
  z.object({ type: z.literal('drain'), id, ids: z.array(z.string()), timeoutMs: count }),
  z.object({ type: z.literal('reopen') }),
  z.object({ type: z.literal('close'), graceMs: count }),
]);

export const toPrimarySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello') }),
  /** Started: it takes connections from now on (the primary holds the listeners). */
  z.object({ type: z.literal('listening') }),
  /** It has connection `id`: the primary closes its own descriptor, and the worker may be handed the next one. */
  z.object({ type: z.literal('took'), id, /** Its connections open, this one included. */ connections: count }),
  /** It is closing: connection `id` is left unread, for the primary to hand to another worker. */
  z.object({ type: z.literal('declined'), id }),
  /** Could not start (e.g. the port is taken): the primary stops replacing it. */
  z.object({ type: z.literal('failed'), error: z.string() }),
  /** `appliedAt`: when the worker applied it, on the host's monotonic clock (host-time.ts). */
  z.object({ type: z.literal('ack'), version: id, appliedAt: z.number().nonnegative() }),
  /** A delta came that was not taken against the version applied here: the whole snapshot is asked for. */
  z.object({ type: z.literal('resync'), have: id, got: id }),
  z.object({
    type: z.literal('metrics'),
    /** Every second up to this one is in the report or an earlier one (shipped-seconds.ts). */
    through: z.number().int(),
    pools: z.array(
      z.object({
        service: z.string(),
        pool: z.enum(['stable', 'canary']),
        seconds: z.array(second),
        lifetime,
        /** The ids of failed requests noted since the last report (a rollback event names them). */
        failed: z.array(z.string().max(256)).max(FAILED_IDS).optional(),
      }),
    ),
    answers: z.array(z.tuple([z.string(), count])),
  }),
  /** What the worker holds now (worker-gauges.ts), once a second. */
  z.object({
    type: z.literal('gauges'),
    /** Connections open (the primary hands the next one to the worker with the fewest). */
    connections: count,
    inFlight: count,
    waiting: count,
    accessLines: z.object({ written: count, dropped: count }),
    outstanding: z.array(z.tuple([z.string(), z.enum(['stable', 'canary']), z.string(), count])),
    /** Its event loop's delay (s) at LOOP_QUANTILES over its last complete window; null before the first. */
    loopDelay: z.array(z.number().nonnegative()).length(LOOP_QUANTILES.length).nullable(),
    /** Every sample of its loop delay since it started, by bucket (loop-lateness.ts). */
    loopLateness: z.object({
      buckets: z.array(count).length(LATENESS_EDGES_S.length + 1),
      sum: z.number().nonnegative(),
    }),
  }),
  z.object({ type: z.literal('drained'), id, drained: z.boolean(), cut: count, tunnels: count }),
  z.object({ type: z.literal('closed'), drained: z.boolean(), abandoned: count }),
]);

export type ToWorker = z.infer<typeof toWorkerSchema>;
export type ToPrimary = z.infer<typeof toPrimarySchema>;
export type MetricsReport = Extract<ToPrimary, { type: 'metrics' }>;
export type GaugesReport = Extract<ToPrimary, { type: 'gauges' }>;
export type WireSnapshot = z.infer<typeof snapshotSchema>;

/** The message, or why it is not one (logged and dropped by the receiver). */
export function parseMessage<T>(schema: z.ZodType<T>, raw: unknown): { ok: true; msg: T } | { ok: false; why: string } {
  const r = schema.safeParse(raw);
  if (r.success) return { ok: true, msg: r.data };
  const first = r.error.issues[0];
  return { ok: false, why: first ? `${first.path.join('.') || 'message'}: ${first.message}` : 'invalid message' };
}
