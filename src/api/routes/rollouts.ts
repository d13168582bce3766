// Starting a rollout and acting on the running one. Bodies are validated here, field by field, so a
// rejected request names what to fix; whether the action fits the rollout's phase is the
// controller's call (a 409 naming the phase).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { configErrorMap } from '../../config/problems.js';
import { rolloutOverridesSchema, rolloutPolicySchema } from '../../config/schema.js';
import { BLUE_GREEN_STEPS, stepsWithBlueGreen } from '../../config/rollout-schema.js';
import { targetString } from '../../config/values.js';
import { IMAGE_REFERENCE_SHAPE, isImageReference } from '../../docker/image-ref.js';
import {
  assertNever,
  err,
  NotFoundError,
  ok,
  ValidationError,
  type Problem,
  type Result,
} from '../../domain/errors.js';
import type { RolloutPolicy } from '../../domain/rollout.js';
import { parseTarget } from '../../domain/target.js';
import { sendError } from '../errors.js';
import type { AdminDeps, RolloutAction, RolloutRequest } from '../ports.js';
import { parseBody } from '../validate.js';

export const MAX_CANARY_COUNT = 50;
/** A canary is a few instances; thousands of targets is a mistake (and a status body of hundreds of KB). */
export const MAX_CANARY_TARGETS = 256;

const targetsCanary = z
  .object({
    targets: z
      .array(targetString)
      .min(1, 'must list at least one "host:port" target')
      .max(MAX_CANARY_TARGETS, `at most ${MAX_CANARY_TARGETS} targets`)
      .superRefine((targets, ctx) => {
        const seen = new Map<string, number>();
        targets.forEach((t, i) => {
          const prev = seen.get(t.id);
          if (prev !== undefined)
            ctx.addIssue({
              code: 'custom',
              path: [i],
              message: `duplicate target "${t.id}" (also canary.targets[${prev}])`,
            });
          else seen.set(t.id, i);
        });
      }),
  })
  .strict()
  .transform((c) => ({ targets: c.targets.map((t) => t.id) }));

const envEntry = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*=/, 'expected "KEY=value"');

const imageCanary = z
  .object({
    image: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .refine((s) => s === '' || isImageReference(s), IMAGE_REFERENCE_SHAPE),
    env: z.array(envEntry).default([]),
    count: z.number().int().min(1).max(MAX_CANARY_COUNT).optional(),
  })
  .strict()
  .transform((c) => ({ image: c.image, env: c.env, count: c.count ?? null }));

const CANARY_SHAPE = 'expected {"targets": ["host:port", …]} or {"image": "name:tag"}';

/** Either form, never both: decided up front so the problems are about the form that was meant. */
const canarySchema = z.unknown().transform((v, ctx): RolloutRequest['canary'] => {
  if (v === undefined) {
    ctx.addIssue({ code: 'custom', message: `required (${CANARY_SHAPE})` });
    return z.NEVER;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    ctx.addIssue({ code: 'custom', message: CANARY_SHAPE });
    return z.NEVER;
  }
  const hasTargets = 'targets' in v;
  const hasImage = 'image' in v;
  if (hasTargets === hasImage) {
    ctx.addIssue({ code: 'custom', message: hasTargets ? 'give either "targets" or "image", not both' : CANARY_SHAPE });
    return z.NEVER;
  }
  const r = (hasTargets ? targetsCanary : imageCanary).safeParse(v, { error: configErrorMap });
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue({ ...issue });
  return z.NEVER;
});

export const rolloutBody = z
  .object({
    canary: canarySchema,
    rollout: rolloutOverridesSchema.optional(),
  })
  .strict()
  .transform((b): RolloutRequest => ({ canary: b.canary, rollout: { ...(b.rollout ?? {}) } }));

// A reason is stored and shown on operators' terminals: control characters (newlines, escapes) and
// bidirectional overrides could rewrite or disguise what is printed around it.
const reason = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(500)
  .refine((s) => !/[\x00-\x1f\x7f-\x9f]/.test(s), 'must not contain control characters')
  .refine((s) => !/[\u202a-\u202e\u2066-\u2069]/.test(s), 'must not contain bidirectional text controls');
const ACTION_BODIES = {
  promote: z.object({ full: z.boolean().optional() }).strict(),
  abort: z.object({ reason: reason.optional() }).strict(),
  pause: z.object({ reason: reason.optional() }).strict(),
  resume: z.object({}).strict(),
} as const;

export const ROLLOUT_ACTIONS: readonly RolloutAction[] = ['promote', 'abort', 'pause', 'resume'];

interface NameParams {
  name: string;
}

/** The service's policy with a request's overrides, checked as a whole (e.g. steps against strategy). */
export function resolvePolicy(
  deps: AdminDeps,
  service: string,
  overrides: Record<string, unknown>,
): Result<RolloutPolicy> {
  const base = deps.rollouts.policyOf(service);
  if (base === undefined) return err(new NotFoundError('service', service));
  const merged = rolloutPolicySchema.safeParse({ ...base, ...overrides });
  if (merged.success && stepsWithBlueGreen(overrides, merged.data.strategy))
    return err(new ValidationError([{ path: 'rollout.steps', message: BLUE_GREEN_STEPS }]));
  if (merged.success) return ok(merged.data);
  return err(
    new ValidationError(
      merged.error.issues.map((i) => ({ path: ['rollout', ...i.path].join('.'), message: i.message })),
    ),
  );
}

export function rolloutRoutes(app: FastifyInstance, deps: AdminDeps): void {
  app.post<{ Params: NameParams }>('/v1/services/:name/rollouts', async (request, reply) => {
    const body = parseBody(rolloutBody, request.body);
    if (!body.ok) return sendError(reply, body.error);
    const self = selfTargetProblems(body.value.canary, deps.isSelf);
    if (self.length > 0) return sendError(reply, new ValidationError(self));
    const policy = resolvePolicy(deps, request.params.name, body.value.rollout);
    if (!policy.ok) return sendError(reply, policy.error);
    const r = await deps.rollouts.start(request.params.name, body.value, policy.value);
    if (!r.ok) return sendError(reply, r.error);
    return reply.code(201).send(r.value);
  });

  for (const action of ROLLOUT_ACTIONS) {
    // An action needs no body at all: `curl -X POST …/rollout/resume` must just work.
    app.post<{ Params: NameParams }>(
      `/v1/services/:name/rollout/${action}`,
      { config: { allowEmptyBody: true } },
      async (request, reply) => {
        const body = parseBody(ACTION_BODIES[action], request.body ?? {});
        if (!body.ok) return sendError(reply, body.error);
        const r = await deps.rollouts.act(request.params.name, action, actionOptions(action, body.value));
        if (!r.ok) return sendError(reply, r.error);
        return r.value;
      },
    );
  }
}

/** Canary targets that are veer itself, one problem each (image canaries get their addresses from Docker). */
export function selfTargetProblems(canary: RolloutRequest['canary'], isSelf: AdminDeps['isSelf']): Problem[] {
  if (!('targets' in canary)) return [];
  const problems: Problem[] = [];
  canary.targets.forEach((id, i) => {
    const t = parseTarget(id);
    const why = t.ok ? isSelf(t.target) : null;
    if (why !== null) problems.push({ path: `canary.targets[${i}]`, message: `is ${why}` });
  });
  return problems;
}

function actionOptions(
  action: RolloutAction,
  body: { full?: boolean; reason?: string },
): { full: boolean; reason: string | null } {
  switch (action) {
    case 'promote':
      return { full: body.full ?? false, reason: null };
    case 'abort':
    case 'pause':
      return { full: false, reason: body.reason ?? null };
    case 'resume':
      return { full: false, reason: null };
    default:
      return assertNever(action, 'rollout action');
  }
}
