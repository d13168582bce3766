// `rollout.targeting` in the config file and in a rollout request's overrides: the accepted shapes,
// every refusal naming its field, and a policy that parses again unchanged (the API merges a stored
// policy with a request's overrides and parses the result once more).
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.js';
import { rolloutPolicySchema } from '../../../src/config/schema.js';
import { rolloutBody } from '../../../src/api/routes/rollouts.js';
import { parseBody } from '../../../src/api/validate.js';
import type { Problem } from '../../../src/domain/errors.js';
import { MAX_TARGETING_REGEX, MAX_TARGETING_RULES } from '../../../src/domain/targeting.js';

const yaml = (targeting: string): string => `services:\n  - name: web\n    rollout:\n      targeting: ${targeting}\n`;

function problems(targeting: string): Problem[] {
  const r = parseConfigText(yaml(targeting), {});
  if (r.ok) throw new Error('expected the config to be invalid');
  return [...r.error.problems];
}

const P = 'services[0].rollout.targeting';

describe('rollout.targeting in the config', () => {
  it('defaults to no rules', () => {
    const r = parseConfigText('services:\n  - name: web\n', {});
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.services[0]?.rollout.targeting).toEqual([]);
  });

  it('accepts header, cookie and query rules with a value, a regex or neither, as written', () => {
    const r = parseConfigText(
      yaml(`
        - header: { name: X-Internal-User, value: "1" }
        - cookie: { name: beta, value: "yes" }
        - query:  { name: canary, regex: "^(1|true)$" }
        - header: { name: x-preview }`),
      {},
    );
    if (!r.ok) throw new Error(r.error.message);
    const rules = r.value.services[0]?.rollout.targeting;
    expect(rules).toEqual([
      { header: { name: 'X-Internal-User', value: '1' } },
      { cookie: { name: 'beta', value: 'yes' } },
      { query: { name: 'canary', regex: '^(1|true)$' } },
      { header: { name: 'x-preview' } },
    ]);
    // What is stored parses again to the same policy.
    const policy = r.value.services[0]?.rollout;
    expect(rolloutPolicySchema.parse(policy)).toEqual(policy);
  });

  it('names the field of each broken rule', () => {
    const p = problems(`
        - header: { name: "", value: "1" }
        - cookie: { name: "be ta" }
        - query: { name: q, regex: "(" }
        - header: { name: x, value: "1", regex: "1" }
        - query: { name: "" }`);
    expect(p).toEqual([
      { path: `${P}[0].header.name`, message: 'must not be empty' },
      { path: `${P}[1].cookie.name`, message: expect.stringMatching(/^must be a valid cookie name/) },
      { path: `${P}[2].query.regex`, message: 'is not a valid regular expression (Unterminated group)' },
      { path: `${P}[3].header.regex`, message: 'give either "value" or "regex", not both' },
      { path: `${P}[4].query.name`, message: 'must not be empty' },
    ]);
  });

  it('wants exactly one of header, cookie or query per rule, and knows no other key', () => {
    expect(problems('[ {} ]')).toEqual([
      { path: `${P}[0]`, message: 'expected exactly one of "header", "cookie" or "query"' },
    ]);
    expect(problems('[ { header: { name: a }, cookie: { name: b } } ]')).toEqual([
      { path: `${P}[0]`, message: 'expected exactly one of "header", "cookie" or "query", not several' },
    ]);
    expect(problems('[ { path: { name: a } } ]')).toEqual([
      { path: `${P}[0].path`, message: expect.stringMatching(/^unknown key/) },
      { path: `${P}[0]`, message: 'expected exactly one of "header", "cookie" or "query"' },
    ]);
    expect(problems('[ { header: { name: a, values: ["1"] } } ]').map((x) => x.path)).toEqual([
      `${P}[0].header.values`,
    ]);
    expect(problems('{ header: { name: a } }')[0]?.path).toBe(P);
  });

  it('bounds the number of rules and the length of a regex', () => {
    const rules = Array.from({ length: MAX_TARGETING_RULES + 1 }, (_, i) => `{ query: { name: q${i} } }`);
    const many = `[${rules.join(', ')}]`;
    expect(problems(many)).toEqual([{ path: P, message: expect.stringContaining(`at most ${MAX_TARGETING_RULES}`) }]);
    const long = problems(`[ { header: { name: a, regex: "${'a'.repeat(MAX_TARGETING_REGEX + 1)}" } } ]`);
    expect(long.map((x) => x.path)).toEqual([`${P}[0].header.regex`]);
  });
});

describe('rollout.targeting as a rollout request override', () => {
  const body = (targeting: unknown) => ({ canary: { targets: ['127.0.0.1:9001'] }, rollout: { targeting } });

  it('is accepted in the same shape', () => {
    const r = parseBody(rolloutBody, body([{ header: { name: 'X-Internal-User', value: '1' } }]));
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.rollout.targeting).toEqual([{ header: { name: 'X-Internal-User', value: '1' } }]);
  });

  it('is refused naming the field', () => {
    const r = parseBody(rolloutBody, body([{ query: { name: 'canary', regex: '[' } }]));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.problems).toEqual([
      {
        path: 'rollout.targeting[0].query.regex',
        message: expect.stringMatching(/^is not a valid regular expression/),
      },
    ]);
  });

  it('refuses a regex that could take exponential time on a client value, unless the linear engine runs it', () => {
    const r = parseBody(rolloutBody, body([{ header: { name: 'x-t', regex: '^([a-z]{2,40})+$' } }]));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.problems).toEqual([
      { path: 'rollout.targeting[0].header.regex', message: expect.stringContaining('can take exponential time') },
    ]);
    expect(parseBody(rolloutBody, body([{ header: { name: 'x-t', regex: '^(a+)+$' } }])).ok).toBe(true);
  });
});
