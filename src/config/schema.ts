// The whole configuration contract, with every default: all defaults live in this file and the two
// it is built from (service-schema.ts for one service, rollout-schema.ts for a rollout's policy),
// nowhere else. Scalar values (durations → ms, sizes → bytes, weights → basis points, targets) are
// parsed in values.ts. Keys are part of the public contract: add, never rename.
import { z } from 'zod';
import { serviceSchema } from './service-schema.js';
import { accessLogSchema } from './access-log-schema.js';
import { workersSchema } from './workers-schema.js';
import { tlsSchema } from './tls-schema.js';
import { requestIdHeaderSchema, requestIdIsOverride } from './request-id-schema.js';
import { adminSchema } from './admin-schema.js';
import { stateSchema } from './state-schema.js';
import { outgoingHeaders } from './header-schema.js';
import { headerName, ipOrCidr, listenAddress, positiveDuration, positiveDurationValue, duration } from './values.js';

// The schema used to be one file: importers of these names keep working.
export { rolloutOverridesSchema, rolloutPolicySchema } from './rollout-schema.js';
export type { RolloutOverrides, RolloutPolicy } from './rollout-schema.js';
export { serviceSchema } from './service-schema.js';
export type { ServiceConfig } from './service-schema.js';

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
    /**
     * How long a request waits for a target when its service has none it may use (containers being
     * recreated, a new one not listening yet, every target ejected); then 503. 0: answer at once.
     */
    waitForTarget: duration('5s'),
  })
  .strict()
  .superRefine((t, ctx) => {
    // Node refuses a headers bound longer than the whole-request bound it is part of (at start, unnamed).
    if (t.clientRequest > 0 && t.clientHeader > t.clientRequest)
      ctx.addIssue({
        code: 'custom',
        path: ['clientHeader'],
        message: `must not be longer than clientRequest (${t.clientRequest} ms), which bounds the whole request`,
      });
  })
  .prefault({});

const proxySchema = z
  .object({
    /**
     * Header that forces a pool (e.g. "x-veer-pool"); `false` (the default) disables the override, so
     * an anonymous client can never pick the canary on its own.
     */
    overrideHeader: z.union([headerName, z.literal(false)]).default(false),
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
    /**
     * Who reads plain HTTP/1.1 requests: `lean` (veer's own, llhttp; what it does not read itself, node:http
     * reads) or `node` (node:http for all of them, as before 2026-12).
     */
    front: z.enum(['node', 'lean']).default('lean'),
    /**
     * Who speaks HTTP/1.1 to the targets: `lean` (veer's own client, llhttp) or `undici` (undici's Pool, as
     * before 2026-12). h2c targets always use undici's HTTP/2 client.
     */
    upstreamClient: z.enum(['lean', 'undici']).default('lean'),
    /** Max idle keep-alive connections per upstream target. */
    connectionsPerTarget: z.number().int().min(1).default(128),
    /** Retry an idempotent request once on another target when connecting fails. */
    retryConnectErrors: z.boolean().default(true),
    /** Request id header (kept from trusted peers, else generated; passed upstream and returned); `false`: off. */
    requestIdHeader: requestIdHeaderSchema,
    /** Requests waiting for a target (timeouts.waitForTarget) at once, per process; more get 503 at once. */
    maxWaitingRequests: z.number().int().min(0).max(1_000_000).default(1000),
    timeouts: timeoutsSchema,
  })
  .strict()
  .superRefine(requestIdIsOverride)
  .prefault({});

const dockerEndpoint = z
  .object({
    name: z.string().min(1),
    host: z.string().min(1),
    ca: z.string().optional(),
    cert: z.string().optional(),
    key: z.string().optional(),
    /** ssh: the private key to log in with (besides the ssh-agent); default ~/.ssh/id_ed25519, id_ecdsa, id_rsa. */
    identityFile: z.string().optional(),
    /** ssh: the known_hosts file the host key must be in (default ~/.ssh/known_hosts). */
    knownHosts: z.string().optional(),
    /** ssh: the host key's `SHA256:` fingerprint (as `ssh-keygen -lf` prints it), instead of known_hosts. */
    hostKeyFingerprint: z
      .string()
      .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'expected "SHA256:" and 43 base64 characters')
      .optional(),
  })
  .strict();

/**
 * Like the docker CLI without a context: DOCKER_HOST (with DOCKER_CERT_PATH when DOCKER_TLS_VERIFY
 * is set), else the local socket.
 */
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

/** generic: veer's own JSON; the others: the chat service's incoming-webhook message. */
export const WEBHOOK_FORMATS = ['generic', 'slack', 'teams', 'discord'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

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
          'warning',
          'gate',
          'acme',
        ]),
      )
      .optional(),
    // A Content-Type of the hook's own is accepted and replaced (the body is always JSON), as it always was.
    headers: outgoingHeaders('webhook').default({}),
    timeout: positiveDuration('5s'),
    retries: z.number().int().min(0).max(10).default(3),
    /** The body's shape: veer's own JSON, or a chat service's incoming-webhook message. */
    format: z.enum(WEBHOOK_FORMATS).default('generic'),
  })
  .strict();

const notificationsSchema = z
  .object({ webhooks: z.array(webhookSchema).default([]) })
  .strict()
  .prefault({});

const reloadSchema = z
  .object({
    /** Reload when the config file changes (besides SIGHUP and `veer reload`). */
    watch: z.boolean().default(false),
    /** Quiet time after the last change before the file is read (an editor writes in several steps). */
    debounce: positiveDuration('500ms'),
  })
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
    reload: reloadSchema,
    /** HTTPS (and HTTP/2) for clients; absent: plain HTTP only. */
    tls: tlsSchema.optional(),
    /** One JSON line per request (stdout by default); `accessLog.enabled: false` turns it off. */
    accessLog: accessLogSchema,
    /** Data-plane processes: `auto` (one per core when there are more than 2, else 1) or 1-64. */
    workers: workersSchema,
  })
  // Checks spanning several fields (unique names, Docker endpoint references, routes two services
  // claim) live in config/cross-checks.ts: a refinement here would be skipped whenever any field
  // failed, hiding them behind the other problems. The loader runs them on the raw tree.
  .strict();

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type WebhookConfig = z.output<typeof webhookSchema>;
