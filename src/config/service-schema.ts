// One service's configuration: what traffic it matches, its stable and canary pools, and the
// per-service knobs (stickiness, health checks, outlier ejection, limits, upstream timeouts).
// Defaults live here, next to their keys; the listener-wide settings stay in schema.ts.
import { errorPagesSchema, maintenanceSchema } from './page-schema.js';
import { z } from 'zod';
import { SERVICE_NAME, SERVICE_NAME_RULE } from '../domain/service-name.js';
import { rolloutPolicySchema } from './rollout-schema.js';
import { upstreamSchema } from './upstream-schema.js';
import {
  durationValue,
  hostPattern,
  lifetimeValue,
  percentWeight,
  periodValue,
  positiveDuration,
  positiveDurationValue,
  sizeValue,
  targetString,
} from './values.js';

const matchSchema = z
  .object({
    hosts: z.array(hostPattern).min(1, 'must list at least one host (use "*" for any)').default(['*']),
    pathPrefix: z.string().startsWith('/', 'must start with "/"').default('/'),
  })
  .strict()
  .prefault({});

const dockerSelector = z
  .object({
    selector: z
      .record(z.string().min(1, 'a label name must not be empty'), z.string())
      .refine((r) => Object.keys(r).length > 0, 'must name at least one label'),
    port: z.number().int().min(1).max(65535),
    endpoint: z.string().optional(),
    network: z
      .string()
      .min(1, 'must not be empty (leave it out to reach containers at their published port)')
      .optional(),
  })
  .strict();

/** A target listed twice would take twice its share of the pool's traffic, and its state once. */
const targetList = z.array(targetString).superRefine((targets, ctx) => {
  const seen = new Map<string, number>();
  targets.forEach((t, i) => {
    const first = seen.get(t.id);
    if (first === undefined) seen.set(t.id, i);
    else ctx.addIssue({ code: 'custom', path: [i], message: `duplicate target "${t.id}" (also targets[${first}])` });
  });
});

const poolSchema = z
  .object({
    targets: targetList.default([]),
    docker: dockerSelector.optional(),
  })
  .strict()
  .refine((p) => !(p.docker && p.targets.length > 0), {
    path: ['docker'],
    message: 'give either "targets" or "docker", not both',
  })
  .prefault({});

const stickySchema = z
  .object({
    cookie: z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a valid cookie name'),
    // Max-Age is whole seconds, and Max-Age=0 deletes the cookie: below a second stickiness would do nothing.
    maxAge: lifetimeValue
      .refine((ms) => ms >= 1000, 'must be at least 1s (Max-Age=0 deletes the cookie)')
      .prefault('24h'),
    secure: z.boolean().default(false),
    sameSite: z.enum(['lax', 'strict', 'none']).default('lax'),
  })
  .strict()
  .refine((s) => s.sameSite !== 'none' || s.secure, {
    path: ['secure'],
    message: 'must be true when sameSite is "none" (browsers drop such cookies otherwise)',
  })
  // Browsers keep a __Host- or __Secure- cookie only with the Secure attribute (RFC 6265bis).
  .refine((s) => !/^__(host|secure)-/i.test(s.cookie) || s.secure, {
    path: ['secure'],
    message: 'must be true for a cookie named __Host-… or __Secure-… (browsers drop it otherwise)',
  });

const healthCheckSchema = z
  .object({
    enabled: z.boolean().default(true),
    path: z.string().startsWith('/', 'must start with "/"').default('/healthz'),
    interval: periodValue(10).prefault('5s'),
    timeout: positiveDuration('2s'),
    healthyThreshold: z.number().int().min(1).default(2),
    unhealthyThreshold: z.number().int().min(1).default(3),
    /** Status codes below this count as healthy (2xx/3xx by default). */
    expectStatusBelow: z.number().int().min(200).max(600).default(400),
  })
  .strict();

const outlierSchema = z
  .object({
    consecutiveErrors: z.number().int().min(1).default(5),
    ejectFor: positiveDuration('30s'),
    /** Never eject more than this share of a pool's targets (the last target is never ejected). */
    maxEjectedPercent: z.number().min(0).max(100).default(50),
  })
  .strict()
  .prefault({});

const limitsSchema = z
  .object({
    /** Larger request bodies are refused 413 before the upstream receives more than this (absent: no limit). */
    maxRequestBody: sizeValue.optional(),
  })
  .strict()
  .prefault({});

/** The upstream-side timeouts a service may set for itself; the listener's own stay in proxy.timeouts. */
const LISTENER_TIMEOUTS = ['clientKeepAlive', 'clientHeader', 'clientRequest', 'shutdown'] as const;
const serviceTimeoutsSchema = z
  .object({
    connect: positiveDurationValue.optional(),
    header: positiveDurationValue.optional(),
    body: positiveDurationValue.optional(),
    upstreamIdle: positiveDurationValue.optional(),
    waitForTarget: durationValue.optional(),
    ...Object.fromEntries(
      LISTENER_TIMEOUTS.map((k) => [
        k,
        z
          .unknown()
          .refine(() => false, {
            message: `applies to the whole listener, before a request is routed: set proxy.timeouts.${k} instead`,
          })
          .optional(),
      ]),
    ),
  })
  .strict()
  .transform((t) => ({
    connect: t.connect,
    header: t.header,
    body: t.body,
    upstreamIdle: t.upstreamIdle,
    waitForTarget: t.waitForTarget,
  }))
  .prefault({});

export const serviceSchema = z
  .object({
    name: z.string().regex(SERVICE_NAME, `must be ${SERVICE_NAME_RULE}`),
    match: matchSchema,
    stable: poolSchema,
    canary: poolSchema,
    /** Initial canary weight (percent); a persisted weight from the state store wins over it. */
    weight: percentWeight.default(0),
    sticky: stickySchema.optional(),
    healthCheck: healthCheckSchema.optional(),
    outlier: outlierSchema,
    rollout: rolloutPolicySchema.prefault({}),
    limits: limitsSchema,
    /** Per-service override of proxy.timeouts (connect, header, body, upstreamIdle, waitForTarget). */
    timeouts: serviceTimeoutsSchema,
    /** How veer talks to the targets: `protocol` http1 | h2c, and the gRPC statuses judged as errors. */
    upstream: upstreamSchema,
    errorPages: errorPagesSchema,
    maintenance: maintenanceSchema,
  })
  .strict()
  .refine((s) => !s.canary.docker || s.stable.docker, {
    path: ['canary', 'docker'],
    message: 'a Docker canary pool needs a Docker stable pool (stable.docker)',
  });
export type ServiceConfig = z.output<typeof serviceSchema>;
