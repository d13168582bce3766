// A rollout's gates: each one a URL, or an object with the URL and how it is asked. The same fields
// are a rollout request's override of them, so both forms are accepted wherever a policy is parsed
// (an override is merged over an already parsed policy and parsed again).
import { z } from 'zod';
import type { Gates } from '../domain/gate.js';
import { outgoingHeaders } from './header-schema.js';
import { positiveDuration } from './values.js';

const GATE_SHAPE = 'expected an http(s) URL or {url, timeout?, retries?, headers?}';
const URL_EXAMPLE = 'such as "http://127.0.0.1:7000/smoke"';

const absoluteHttpUrl = (v: string): boolean => {
  if (!URL.canParse(v)) return false;
  const u = new URL(v);
  return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
};

const gateUrl = z
  .string({
    error: (i) =>
      i.input === undefined
        ? `required (an absolute http(s) URL ${URL_EXAMPLE})`
        : `expected an absolute http(s) URL ${URL_EXAMPLE}`,
  })
  .trim()
  .refine(absoluteHttpUrl, {
    error: (i) => `expected an absolute http(s) URL ${URL_EXAMPLE}, got ${JSON.stringify(i.input)}`,
  });

// A gate's headers go out with veer's own request: besides what frames it, veer sets these two.
const gateHeaders = outgoingHeaders('gate', [
  ['content-type', 'is set by veer (the request is JSON)'],
  ['x-veer-replica', 'is set by veer (the replica asking)'],
]);

const gateObject = z
  .object({
    url: gateUrl,
    /** Per attempt, from the request to the answer's status. */
    timeout: positiveDuration('5s'),
    retries: z.number().int().min(0).max(10).default(2),
    headers: gateHeaders.default({}),
  })
  .strict();

/** A bare URL is the object with that URL and every default. */
const gate = z
  .unknown()
  .transform((v, ctx) => {
    if (typeof v === 'string') return { url: v };
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v;
    ctx.addIssue({ code: 'custom', message: GATE_SHAPE });
    return z.NEVER;
  })
  .pipe(gateObject);

export const gatesSchema = z
  .object({ beforeTraffic: gate.optional(), beforeEachStep: gate.optional(), beforePromotion: gate.optional() })
  .strict();

// The domain's Gates must stay what the schema produces.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const gatesMatchDomain: Same<z.output<typeof gatesSchema>, Gates> = true;
void gatesMatchDomain;
