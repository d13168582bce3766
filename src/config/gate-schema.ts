// A rollout's gates: each one a URL, or an object with the URL and how it is asked. The same fields
// are a rollout request's override of them, so both forms are accepted wherever a policy is parsed
// (an override is merged over an already parsed policy and parsed again).
import { z } from 'zod';
import type { Gates } from '../domain/gate.js';
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

/** RFC 9110 token: the only characters a field name may have. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Visible ASCII, space, tab and obs-text: no CR or LF (a second header), no NUL or other control. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

// A gate's headers go out with veer's own request: the ones that frame the message or that veer
// sets would corrupt it or be silently overridden, so they are refused up front with the reason.
const FRAMING = 'frames the request and is set by veer';
const HOP = 'is about the connection, which veer manages';
const HOP_BY_HOP = ['connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-connection'];
const RESERVED_HEADERS: ReadonlyMap<string, string> = new Map([
  ['host', "is set by veer from the gate's URL"],
  ['content-length', FRAMING],
  ['transfer-encoding', FRAMING],
  ['content-type', 'is set by veer (the request is JSON)'],
  ['x-veer-replica', 'is set by veer (the replica asking)'],
  ['expect', 'is not supported on gate requests'],
  ...HOP_BY_HOP.map((name): [string, string] => [name, HOP]),
]);

/** Why a gate header cannot be sent, or null. Neither name nor value is repeated (the path names it). */
function headerProblem(name: string, value: string): string | null {
  if (!TOKEN.test(name)) return "is not a valid header name (expected letters, digits and !#$%&'*+-.^_`|~)";
  const reserved = RESERVED_HEADERS.get(name.toLowerCase());
  if (reserved !== undefined) return `cannot be set on a gate: it ${reserved}`;
  if (CONTROL.test(value)) return 'value must not contain control characters (CR, LF, NUL…; tab is allowed)';
  if (!FIELD_VALUE.test(value)) return 'value must contain only characters up to U+00FF (percent-encode other text)';
  return null;
}

const gateHeaders = z.record(z.string(), z.string()).superRefine((headers, ctx) => {
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    const why = headerProblem(name, value);
    if (why !== null) ctx.addIssue({ code: 'custom', path: [name], message: why });
    // Header names are case-insensitive: two spellings would be sent as one, values joined.
    else if (seen.has(name.toLowerCase()))
      ctx.addIssue({ code: 'custom', path: [name], message: 'is given twice (header names ignore case)' });
    seen.add(name.toLowerCase());
  }
});

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
