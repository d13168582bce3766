// `rollout.targeting`: the rules that send matching requests to a rollout's canary whatever its
// weight. Everything the data plane would trip over is refused here, naming the field: an empty or
// malformed name, a regex that does not compile or could take exponential time, a value and a regex
// together, too many rules. The output is the input's own shape, so a policy read back from a rollout record
// parses again as is.
import { z } from 'zod';
import {
  MAX_TARGETING_NAME,
  MAX_TARGETING_REGEX,
  MAX_TARGETING_RULES,
  MAX_TARGETING_VALUE,
  TARGETING_SOURCES,
  type TargetingRule,
  type ValueMatch,
} from '../domain/targeting.js';
import { compileRuleRegex } from '../dataplane/rule-regex.js';

/** RFC 9110 token: what a header or cookie name may be made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const nonEmpty = z.string().min(1, 'must not be empty');
const tokenName = (what: string) =>
  nonEmpty
    .max(MAX_TARGETING_NAME)
    .refine((s) => s === '' || TOKEN.test(s), `must be a valid ${what} name (letters, digits, !#$%&'*+-.^_\`|~)`);

const regexValue = nonEmpty.max(MAX_TARGETING_REGEX).superRefine((source, ctx) => {
  const r = compileRuleRegex(source);
  if (!r.ok) ctx.addIssue({ code: 'custom', message: r.message });
});

const valueMatch = (name: z.ZodType<string>) =>
  z
    .object({ name, value: z.string().max(MAX_TARGETING_VALUE).optional(), regex: regexValue.optional() })
    .strict()
    .refine((m) => m.value === undefined || m.regex === undefined, {
      path: ['regex'],
      message: 'give either "value" or "regex", not both',
    });

const ONE_SOURCE = 'expected exactly one of "header", "cookie" or "query"';

const ruleSchema = z
  .object({
    header: valueMatch(tokenName('header')).optional(),
    cookie: valueMatch(tokenName('cookie')).optional(),
    query: valueMatch(nonEmpty.max(MAX_TARGETING_NAME)).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    const given = TARGETING_SOURCES.filter((k) => r[k] !== undefined).length;
    if (given !== 1) ctx.addIssue({ code: 'custom', message: given === 0 ? ONE_SOURCE : `${ONE_SOURCE}, not several` });
  })
  .transform((r): TargetingRule => {
    if (r.header) return { header: r.header };
    if (r.cookie) return { cookie: r.cookie };
    return { query: r.query as ValueMatch };
  });

export const targetingSchema = z
  .array(ruleSchema)
  .max(MAX_TARGETING_RULES, `at most ${MAX_TARGETING_RULES} rules (each is tried on every request)`);
