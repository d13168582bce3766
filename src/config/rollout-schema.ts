// A rollout's policy: how far the canary goes at each step, how it is judged, and what happens at
// the end. Its own file because a rollout request's overrides are validated against these same
// fields (without their defaults), and the domain's RolloutPolicy must stay what this produces.
import { z } from 'zod';
import type { RolloutPolicy as DomainRolloutPolicy } from '../domain/rollout.js';
import type { Problem } from '../domain/errors.js';
import { hundredths } from '../domain/weight.js';
import { targetingSchema } from './targeting-schema.js';
import { gatesSchema } from './gate-schema.js';
import { durationValue, periodValue, positiveDurationValue } from './values.js';

const stepsSchema = z
  .array(
    z
      .number()
      .gt(0, 'must be > 0')
      .max(100, 'must be ≤ 100')
      // A weight is kept in hundredths of a percent: 0.001 would be a step of 0%, 33.333 would be 33.33.
      .refine((w) => hundredths(w), 'at most two decimals are allowed (weights are kept to 0.01%)'),
  )
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
  stepInterval: periodValue(100),
  analysisInterval: periodValue(100),
  minRequests: z.number().int().min(1),
  // 0 or 1 would leave nothing for the absolute test to find (no rate is above 1, and 0 tests nothing).
  maxErrorRate: z.number().gt(0).lt(1),
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
  warmup: durationValue,
  minLatencyIncreaseMs: z.number().min(0),
  judge4xx: z.boolean(),
  targeting: targetingSchema,
  // An override's gates replace the configured ones as a whole (`gates: {}`: none for this rollout).
  gates: gatesSchema,
  onGateFailure: z.enum(['hold', 'rollback']),
};

/** A path prefix as the router sees paths: absolute, normalized, without query or spaces. */
const pathPrefix = z
  .string()
  .regex(/^\/[^?#\s]*$/, 'must be a path starting with "/" (no query, fragment or spaces)')
  .max(200, 'must be at most 200 characters');
const pathList = z.array(pathPrefix).max(32, 'at most 32 paths');

/** Health checks of balancers and orchestrators in front of veer: proxied, never judged. */
export const DEFAULT_EXCLUDE_PATHS = ['/healthz', '/health', '/livez', '/readyz', '/ping'];

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
    /** The canary's first seconds of traffic are left out of the latency judgement (JIT, cold caches). */
    warmup: f.warmup.prefault('0s'),
    /** +2 ms on a 3 ms p99 is 1.7× but harmless: relative latency limits have this floor in ms. */
    minLatencyIncreaseMs: f.minLatencyIncreaseMs.default(10),
    /** 4xx answers judged against stable's share (never against an absolute limit: clients cause them). */
    judge4xx: f.judge4xx.default(false),
    // The two below decide what the data plane records, from its start: the service's config only,
    // never a rollout request's override.
    /** Route groups the judge compares one by one: 'auto' (first path segment) or path prefixes. */
    routes: z.union([z.literal('auto'), pathList.min(1, 'must list at least one prefix')]).default('auto'),
    /** Paths proxied but never judged (their own segment and below); the health check's path is added. */
    excludePaths: pathList.default(DEFAULT_EXCLUDE_PATHS),
    /** Requests matching any rule go to the canary while it is routed (targeting-schema.ts). */
    targeting: f.targeting.default([]),
    gates: f.gates.prefault({}),
    /** A gate still refusing progressDeadline after it fell due: pause the rollout, or roll it back. */
    onGateFailure: f.onGateFailure.default('hold'),
  })
  .strict();
export type RolloutPolicy = z.output<typeof rolloutPolicySchema>;
// The domain's hand-written RolloutPolicy must stay what the schema produces.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const policyMatchesDomain: Same<RolloutPolicy, DomainRolloutPolicy> = true;
void policyMatchesDomain;

/** Steps are a canary's: a blue-green rollout has one preview and one switch, so steps given with it do nothing. */
export const BLUE_GREEN_STEPS = 'steps do not apply to strategy blue-green (its preview, then one switch to 100)';

/** Whether a raw policy (a config's `rollout`, a request's overrides) gives steps to a blue-green rollout. */
export function stepsWithBlueGreen(raw: unknown, strategy?: string): boolean {
  if (typeof raw !== 'object' || raw === null || !('steps' in raw)) return false;
  return (strategy ?? (raw as { strategy?: unknown }).strategy) === 'blue-green';
}

/**
 * A config's services that give steps to a blue-green rollout: a warning, not a refusal (a policy shared by
 * canary and blue-green services is valid; its steps are ignored by the latter). A request asking for both is
 * refused (api/routes/rollouts.ts).
 */
export function blueGreenStepsWarnings(services: unknown): Problem[] {
  if (!Array.isArray(services)) return [];
  return services.flatMap((s: unknown, i) =>
    typeof s === 'object' && s !== null && stepsWithBlueGreen((s as { rollout?: unknown }).rollout)
      ? [{ path: `services[${i}].rollout.steps`, message: `ignored: ${BLUE_GREEN_STEPS}` }]
      : [],
  );
}
