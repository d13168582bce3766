// The shapes of the admin API's answers, as far as the CLI reads them. Any server that answers JSON on
// the admin port (another service, a proxy's error page in JSON, `null`) would otherwise print
// "undefined: canary weight x%" or a TypeError: each answer is checked where it is read, and a
// mismatch says which field was wrong. Objects stay open (`looseObject`): a newer veer may add fields.
import { z } from 'zod';
import type { ClusterView, PruneReport, ReloadReport, RolloutStatus, ServiceStatus } from '../api/ports.js';
import type { RolloutHistoryEntry } from '../api/ports.js';
import type { Maintenance } from '../domain/maintenance.js';
import { PHASES } from '../domain/rollout.js';
import { err, ok, type Result } from '../domain/errors.js';
import type { ClientFailure } from './client.js';

const phase = z.enum(PHASES as [string, ...string[]]);
const strings = z.array(z.string());
const evidence = z.looseObject({ requests: z.number(), errors: z.number(), errorRate: z.number(), p99Ms: z.number() });
const check = z.looseObject({
  name: z.string(),
  status: z.string(),
  observed: z.number().nullable(),
  limit: z.number().nullable(),
  pValue: z.number(),
  note: z.string(),
});
const verdict = z.looseObject({
  result: z.string(),
  reason: z.string(),
  at: z.union([z.number(), z.string()]),
  checks: z.array(check),
  canary: evidence,
  stable: evidence,
});
const gate = z.looseObject({
  name: z.string(),
  since: z.string(),
  refusals: z.number(),
  lastRefusal: z.string().nullable(),
});

export const rolloutAnswer = z.looseObject({
  id: z.string(),
  strategy: z.string(),
  phase,
  step: z.number(),
  weight: z.number(),
  reason: z.string().nullable(),
  startedAt: z.string(),
  steps: z.array(z.number()).optional(),
  failures: z.number().optional(),
  lastVerdict: verdict.nullable().optional(),
  gate: gate.nullable().optional(),
}) as unknown as z.ZodType<RolloutStatus>;

const pool = z.looseObject({ targets: z.array(z.looseObject({ healthy: z.boolean(), ejected: z.boolean() })) });
const metrics = z.looseObject({
  window: z.string(),
  requests: z.number(),
  errors: z.number(),
  errorRate: z.number(),
  p99Ms: z.number(),
});

export const serviceAnswer = z.looseObject({
  name: z.string(),
  weight: z.number(),
  pools: z.looseObject({ stable: pool, canary: pool }),
  metrics: z.looseObject({ stable: metrics, canary: metrics }),
  rollout: rolloutAnswer.nullable(),
}) as unknown as z.ZodType<ServiceStatus>;

export const servicesAnswer = z.array(serviceAnswer);

export const clusterAnswer = z.looseObject({
  self: z.string(),
  leader: z.string().nullable(),
  replicas: z.array(z.looseObject({ id: z.string() })),
}) as unknown as z.ZodType<ClusterView>;

const historyEntry = z.looseObject({
  id: z.string(),
  strategy: z.string(),
  phase,
  reason: z.string().nullable(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  canary: z.union([
    z.looseObject({ targets: strings }),
    z.looseObject({ image: z.string(), env: strings, count: z.number() }),
  ]),
  origin: z.looseObject({ kind: z.string(), of: z.string() }).nullable(),
});
export const historyAnswer = z.looseObject({ rollouts: z.array(historyEntry) }) as unknown as z.ZodType<{
  rollouts: RolloutHistoryEntry[];
}>;

export const maintenanceAnswer = z.looseObject({
  on: z.boolean(),
  mode: z.enum(['hold', 'page']),
}) as unknown as z.ZodType<Maintenance>;

export const pruneAnswer = z.looseObject({
  dryRun: z.boolean(),
  containers: z.array(
    z.looseObject({
      endpoint: z.string(),
      id: z.string(),
      name: z.string(),
      reason: z.string(),
      error: z.string().optional(),
    }),
  ),
  unreachable: z.array(z.looseObject({ endpoint: z.string(), error: z.string() })),
}) as unknown as z.ZodType<PruneReport>;

export const reloadAnswer = z.looseObject({
  added: strings,
  removed: strings,
  changed: strings,
  restart: strings,
  listen: z.string().nullable(),
  token: z.boolean(),
  webhooks: z.boolean(),
}) as unknown as z.ZodType<ReloadReport>;

/** The answer as `schema` reads it, or a failure naming the first field that was wrong. */
export function checkAnswer<T>(value: unknown, schema: z.ZodType<T>, url: string): Result<T, ClientFailure> {
  const r = schema.safeParse(value);
  // The answer as it came (only checked, nothing transformed): `--json` prints the API's own key order.
  if (r.success) return ok(value as T);
  return err({
    code: 'bad_response',
    message: `unexpected answer from ${url}: ${firstIssue(r.error, value)} — is --admin pointing at veer's admin API?`,
    problems: [],
  });
}

function firstIssue(e: z.ZodError, value: unknown): string {
  if (value === null || typeof value !== 'object') return `expected a JSON object or list, got ${kind(value)}`;
  const issue = e.issues[0];
  if (issue === undefined) return 'it does not have the expected shape';
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  const where = path === '' ? 'the answer' : path.replace(/^\./, '');
  const got = kind(issue.path.reduce<unknown>((v, p) => (v as Record<PropertyKey, unknown> | undefined)?.[p], value));
  switch (issue.code) {
    case 'invalid_type':
      return `${where}: expected ${issue.expected === 'array' ? 'a list' : `a ${issue.expected}`}, got ${got}`;
    case 'invalid_value':
      return `${where}: expected one of ${issue.values.map(String).join(', ')}, got ${got}`;
    default:
      return `${where}: ${issue.message}`;
  }
}

/** What a value is, in a few words (never the value itself: it may be long, or anything). */
function kind(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return typeof v === 'string' ? 'a string' : typeof v === 'number' ? 'a number' : typeof v;
}
