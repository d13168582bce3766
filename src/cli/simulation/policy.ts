// The policy a simulation runs: the scenario's `policy` export, overridden key by key by a
// `--policy` file (YAML or JSON), both checked against the schema of a service's `rollout:` section
// so a key that works here works in the config, and the other way round.
import { parseDocument } from 'yaml';
import { readTextFile } from '../../config/file-text.js';
import { describe, validateWith } from '../../config/problems.js';
import { rolloutPolicySchema } from '../../config/rollout-schema.js';
import { formatDuration } from '../../domain/duration.js';
import { ValidationError, err, ok, type Result } from '../../domain/errors.js';
import type { RolloutPolicy } from '../../domain/rollout.js';
import { firstLine, isPlainObject } from './scenario.js';

export interface SimulationPolicy {
  /** Config form ("30s"), as the simulator takes it. */
  raw: Record<string, unknown>;
  /** Defaults applied. */
  policy: RolloutPolicy;
}

/** A `--policy` file's rollout keys, checked on their own so a problem names this file. */
export async function loadPolicyFile(path: string): Promise<Result<Record<string, unknown>, string>> {
  const where = `--policy ${path}`;
  const text = await readTextFile(path);
  if (!text.ok) return err(`${where}: ${text.error}`);
  const doc = parseDocument(text.value, { prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax !== undefined) return err(`${where}: not valid YAML or JSON: ${firstLine(syntax.message)}`);
  const keys: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  if (!isPlainObject(keys))
    return err(`${where}: expected a mapping of rollout keys (steps: [10, 50, 100], …), got ${describe(keys)}`);
  return checked(where, keys);
}

export function simulationPolicy(
  scenario: { path: string; policy: Record<string, unknown> },
  file: Record<string, unknown>,
): Result<SimulationPolicy, string> {
  const own = checked(`${scenario.path}: export "policy"`, scenario.policy);
  if (!own.ok) return own;
  const raw = { ...scenario.policy, ...file };
  // Each part is valid on its own, and every key is independent of the others but the steps list.
  const merged = validateWith(rolloutPolicySchema, raw);
  return merged.ok ? ok({ raw, policy: merged.value }) : err(`policy: ${new ValidationError(merged.error).message}`);
}

function checked(where: string, keys: Record<string, unknown>): Result<Record<string, unknown>, string> {
  const r = validateWith(rolloutPolicySchema, keys);
  // ValidationError's message is every problem on one line, `path: what was expected`.
  return r.ok ? ok(keys) : err(`${where}: ${new ValidationError(r.error).message}`);
}

const DURATIONS = [
  'stepInterval',
  'analysisInterval',
  'progressDeadline',
  'drainTimeout',
  'rollbackWindow',
  'healthTimeout',
  'warmup',
] as const satisfies readonly (keyof RolloutPolicy)[];

/** The policy as a `rollout:` section would spell it: durations back to "30s". */
export function policyConfigForm(p: RolloutPolicy): Record<string, unknown> {
  const out: Record<string, unknown> = { ...p };
  for (const key of DURATIONS) out[key] = formatDuration(p[key]);
  return out;
}
