// The whole configuration contract, with every default: all defaults live here, nowhere else.
// Scalar values (durations → ms, sizes → bytes, weights → basis points, targets) are parsed in
// values.ts. Keys are part of the public contract: add, never rename.
import { z } from 'zod';
import { SERVICE_NAME } from '../domain/service-name.js';
import type { RolloutPolicy as DomainRolloutPolicy } from '../domain/rollout.js';
import {
  duration,
  hostPattern,
  ipOrCidr,
  listenAddress,
  percentWeight,
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
    selector: z.record(z.string(), z.string()).refine((r) => Object.keys(r).length > 0, 'must name at least one label'),
    port: z.number().int().min(1).max(65535),
    endpoint: z.string().optional(),
    network: z.string().optional(),
  })
  .strict();

const poolSchema = z
  .object({
    targets: z.array(targetString).default([]),
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
    maxAge: duration('24h'),
    secure: z.boolean().default(false),
    sameSite: z.enum(['lax', 'strict', 'none']).default('lax'),
  })
  .strict()
  .refine((s) => s.sameSite !== 'none' || s.secure, {
    path: ['secure'],
    message: 'must be true when sameSite is "none" (browsers drop such cookies otherwise)',
  });

const healthCheckSchema = z
  .object({
    enabled: z.boolean().default(true),
    path: z.string().startsWith('/', 'must start with "/"').default('/healthz'),
    interval: positiveDuration('5s'),
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

const stepsSchema = z
  .array(z.number().gt(0, 'must be > 0').max(100, 'must be ≤ 100'))
  .min(1, 'must list at least one step')
  .superRefine((steps, ctx) => {
    for (let i = 1; i < steps.length; i++) {
      if ((steps[i] as number) <= (steps[i - 1] as number)) {
        ctx.addIssue({
          code: 'custom',
          path: [i],
          message: `must be greater than the previous step (${steps[i - 1]})`,
        });
      }
    }
  });

/** The policy's fields without defaults: the shape of a rollout request's overrides. */
const policyFields = {
  strategy: z.enum(['canary', 'blue-green']),
  steps: stepsSchema,
  stepInterval: positiveDurationValue,
  analysisInterval: positiveDurationValue,
  minRequests: z.number().int().min(1),
  maxErrorRate: z.number().min(0).max(1),
  maxP99Ms: z.number().positive(),
  maxErrorRateIncrease: z.number().min(0).max(1),
  maxLatencyRatio: z.number().min(1),
  failureLimit: z.number().int().min(1),
  confidence: z.number().gt(0.5).lt(1),
  progressDeadline: positiveDurationValue,
  onDeadline: z.enum(['pause', 'rollback']),
  drainTimeout: positiveDurationValue,
  rollbackWindow: positiveDurationValue,
  healthTimeout: positiveDurationValue,
  retryCanaryOnStable: z.boolean(),
  onRestart: z.enum(['resume', 'rollback']),
};

export const rolloutOverridesSchema = z.object(policyFields).partial().strict();
export type RolloutOverrides = z.output<typeof rolloutOverridesSchema>;

const f = policyFields;
export const rolloutPolicySchema = z
  .object({
    strategy: f.strategy.default('canary'),
    steps: f.steps.prefault([5, 10, 25, 50, 100]),
    stepInterval: f.stepInterval.prefault('30s'),
    analysisInterval: f.analysisInterval.prefault('2s'),
    minRequests: f.minRequests.default(200),
    maxErrorRate: f.maxErrorRate.default(0.01),
    maxP99Ms: f.maxP99Ms.default(800),
    // Absolute percentage points the canary may be above stable before the relative check can fail:
    // small enough that a canary failing twice as often as a 0.5% stable is caught.
    maxErrorRateIncrease: f.maxErrorRateIncrease.default(0.0025),
    maxLatencyRatio: f.maxLatencyRatio.default(1.5),
    failureLimit: f.failureLimit.default(2),
    confidence: f.confidence.default(0.99),
    progressDeadline: f.progressDeadline.prefault('10m'),
    onDeadline: f.onDeadline.default('pause'),
    drainTimeout: f.drainTimeout.prefault('30s'),
    rollbackWindow: f.rollbackWindow.prefault('5m'),
    healthTimeout: f.healthTimeout.prefault('60s'),
    retryCanaryOnStable: f.retryCanaryOnStable.default(false),
    /** What a restarted veer does with a rollout it finds mid-flight. */
    onRestart: f.onRestart.default('resume'),
  })
  .strict();
export type RolloutPolicy = z.output<typeof rolloutPolicySchema>;
// The domain's hand-written RolloutPolicy must stay what the schema produces.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const policyMatchesDomain: Same<RolloutPolicy, DomainRolloutPolicy> = true;
void policyMatchesDomain;

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
  .transform((t) => ({ connect: t.connect, header: t.header, body: t.body, upstreamIdle: t.upstreamIdle }))
  .prefault({});

export const serviceSchema = z
  .object({
    name: z.string().regex(SERVICE_NAME, 'must be lowercase letters, digits, "-" or "_" (max 63)'),
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
    /** Per-service override of proxy.timeouts (connect, header, body, upstreamIdle). */
    timeouts: serviceTimeoutsSchema,
  })
  .strict()
  .refine((s) => !s.canary.docker || s.stable.docker, {
    path: ['canary', 'docker'],
    message: 'a Docker canary pool needs a Docker stable pool (stable.docker)',
  });
export type ServiceConfig = z.output<typeof serviceSchema>;

const timeoutsSchema = z
  .object({
    /** Upstream TCP connect. */
    connect: positiveDuration('5s'),
    /** Upstream time to response headers. */
    header: positiveDuration('30s'),
    /** Upstream gap between body chunks. */
    body: positiveDuration('60s'),
    /** Idle upstream keep-alive sockets are closed after this; keep it below the upstreams' own. */
    upstreamIdle: positiveDuration('4s'),
    /** Client keep-alive: longer than common balancer idle timeouts (60 s) so the front never 502s. */
    clientKeepAlive: positiveDuration('65s'),
    /** Time a client has to send its request headers (slowloris bound). */
    clientHeader: positiveDuration('20s'),
    /** Whole-request bound for receiving a client request (0 = none). */
    clientRequest: duration('5m'),
    /** How long SIGTERM waits for in-flight requests. */
    shutdown: positiveDuration('30s'),
  })
  .strict()
  .prefault({});

const proxySchema = z
  .object({
    /**
     * Header that forces a pool (e.g. "x-veer-pool"); `false` (the default) disables the override, so
     * an anonymous client can never pick the canary on its own.
     */
    overrideHeader: z
      .union([z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a valid header name'), z.literal(false)])
      .default(false),
    /** Peers whose override header is honoured (CIDR list); loopback only by default. */
    overrideFrom: z.array(ipOrCidr).default(['127.0.0.0/8', '::1']),
    /** More request header fields than this are refused 431, never forwarded with fields dropped. */
    maxHeaders: z.number().int().min(1).max(10_000).default(100),
    /** Peers whose X-Forwarded-* headers are trusted and extended rather than replaced. */
    trustedProxies: z.array(ipOrCidr).default([]),
    /** Pseudonym in the Via header; also used for loop detection. */
    via: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, 'must be a token')
      .default('veer'),
    maxHeaderSize: z.number().int().min(1024).max(1_048_576).default(16_384),
    /** Max idle keep-alive connections per upstream target. */
    connectionsPerTarget: z.number().int().min(1).default(128),
    /** Retry an idempotent request once on another target when connecting fails. */
    retryConnectErrors: z.boolean().default(true),
    timeouts: timeoutsSchema,
  })
  .strict()
  .prefault({});

const adminSchema = z
  .object({
    listen: listenAddress.prefault('127.0.0.1:9090'),
    token: z.string().default(''),
  })
  .strict()
  .prefault({});

const stateSchema = z
  .object({
    store: z.enum(['memory', 'file', 'redis']).default('file'),
    path: z.string().min(1).default('.veer/state.json'),
    redis: z.string().optional(),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, "_", "." or "-"')
      .default('veer'),
    /** Leader lease: another replica takes over within this long after the leader dies. */
    leaseTtl: positiveDuration('5s'),
  })
  .strict()
  .prefault({})
  .superRefine((s, ctx) => {
    if (s.store === 'redis' && !s.redis)
      ctx.addIssue({ code: 'custom', path: ['redis'], message: 'required when store is "redis" (redis://host:port)' });
  });

const dockerEndpoint = z
  .object({
    name: z.string().min(1),
    host: z.string().min(1),
    ca: z.string().optional(),
    cert: z.string().optional(),
    key: z.string().optional(),
  })
  .strict();

/** Like the docker CLI without a context: DOCKER_HOST (with DOCKER_CERT_PATH when DOCKER_TLS_VERIFY is set), else the local socket. */
function defaultEndpoints(): Array<z.input<typeof dockerEndpoint>> {
  const host = process.env.DOCKER_HOST?.trim();
  if (!host) return [{ name: 'local', host: 'unix:///var/run/docker.sock' }];
  const certs = process.env.DOCKER_CERT_PATH?.trim();
  const tls =
    certs && process.env.DOCKER_TLS_VERIFY && process.env.DOCKER_TLS_VERIFY !== '0'
      ? { ca: `${certs}/ca.pem`, cert: `${certs}/cert.pem`, key: `${certs}/key.pem` }
      : {};
  return [{ name: 'default', host, ...tls }];
}

const dockerSchema = z
  .object({
    endpoints: z
      .array(dockerEndpoint)
      .default(defaultEndpoints)
      .superRefine((eps, ctx) => {
        const seen = new Set<string>();
        eps.forEach((e, i) => {
          if (seen.has(e.name))
            ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate endpoint name "${e.name}"` });
          seen.add(e.name);
        });
      }),
    /** This installation's name in the veer.owner label: garbage collection touches only containers carrying it. */
    owner: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,63}$/, 'must be 1–63 letters, digits, "_", "." or "-"')
      .default('veer'),
    /** Remove orphaned containers of this owner at start (what `veer prune` does). */
    gc: z.boolean().default(false),
    /** Grace period between SIGTERM and SIGKILL when removing a container (absent: the container's own). */
    stopTimeout: positiveDurationValue.optional(),
  })
  .strict()
  .prefault({});

const webhookSchema = z
  .object({
    url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
    /** Event kinds to send; all rollout milestones when absent. */
    events: z
      .array(
        z.enum([
          'started',
          'canary-ready',
          'step',
          'analysis',
          'paused',
          'resumed',
          'rolling-back',
          'rolled-back',
          'aborted',
          'promoting',
          'succeeded',
          'shifted',
        ]),
      )
      .optional(),
    headers: z.record(z.string(), z.string()).default({}),
    timeout: positiveDuration('5s'),
    retries: z.number().int().min(0).max(10).default(3),
  })
  .strict();

const notificationsSchema = z
  .object({ webhooks: z.array(webhookSchema).default([]) })
  .strict()
  .prefault({});

export const configSchema = z
  .object({
    listen: listenAddress.prefault('0.0.0.0:8080'),
    admin: adminSchema,
    state: stateSchema,
    docker: dockerSchema,
    proxy: proxySchema,
    services: z.array(serviceSchema).default([]),
    notifications: notificationsSchema,
  })
  // Checks spanning several fields (unique names, Docker endpoint references, routes two services
  // claim) live in config/cross-checks.ts: a refinement here would be skipped whenever any field
  // failed, hiding them behind the other problems. The loader runs them on the raw tree.
  .strict();

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type WebhookConfig = z.output<typeof webhookSchema>;
