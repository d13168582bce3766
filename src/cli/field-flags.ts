// The admin API is the one checker of the values a command sends, and it names a refused value by its
// JSON field (`rollout.stepInterval`, `canary.env[2]`). The user typed a flag (`--step-interval`, the third
// `--env`): a refusal of what they typed is a usage error (exit 64, not the 1 of a rolled-back rollout,
// so a CI step can tell a broken pipeline from a rollback), and each problem is named by that flag.
import type { Problem } from '../domain/errors.js';
import type { ClientFailure } from './client.js';

/** [API field, what the user typed]: e.g. ['rollout.steps', '--steps'], ['weight', '<weight>']. */
export type FieldFlags = readonly (readonly [field: string, flag: string])[];

// `canary.targets[1]` from a body field, `rollout.steps.1` from a policy checked as a whole.
const ITEM = /^(?:\[(\d+)\]|\.(\d+))$/;

/** The flag for an API path; an item of a list flag says which (1-based, as typed); other paths stay. */
export function flagOfPath(path: string, flags: FieldFlags): string {
  for (const [field, flag] of flags) {
    if (path === field) return flag;
    if (!path.startsWith(field)) continue;
    const item = ITEM.exec(path.slice(field.length));
    if (item !== null) return `${flag} (item ${Number(item[1] ?? item[2]) + 1})`;
  }
  return path;
}

/**
 * A 400 invalid_request, with its problems named by flags; null for any other failure (an unknown
 * service, a conflict, an unreachable admin: not the user's typing, so not a usage error).
 */
export function typedValueFailure(f: ClientFailure, flags: FieldFlags): ClientFailure | null {
  if (f.status !== 400 || f.code !== 'invalid_request') return null;
  const problems = f.problems.map((p) => ({ path: flagOfPath(p.path, flags), message: p.message }));
  // The API's message is its problems joined; said again with the flags (failureLines then lists them once).
  const message = f.message === joined(f.problems) ? joined(problems) : f.message;
  return { ...f, message, problems };
}

function joined(problems: readonly Problem[]): string {
  return problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ');
}
