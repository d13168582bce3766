// A `veer simulate` scenario: an ES module exporting `traffic` (what each pool serves each virtual
// second), and optionally `policy` (rollout keys) and `maxSeconds`. Everything it exports is the
// user's code, so each part is checked here and a problem is one line naming the file and the export.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe } from '../../config/problems.js';
import { err, errorMessage, ok, type Result } from '../../domain/errors.js';
import type { TrafficContext } from '../../simulate.js';
import { MAX_SECONDS_LIMIT } from './limits.js';
import { describeFsError } from '../../domain/fs-error.js';

export type TrafficFn = (ctx: TrafficContext) => unknown;

export interface Scenario {
  path: string;
  traffic: TrafficFn;
  /** Rollout keys in config form, not yet validated. */
  policy: Record<string, unknown>;
  maxSeconds: number | undefined;
}

export async function loadScenario(path: string): Promise<Result<Scenario, string>> {
  const found = await fileProblem(path);
  if (found !== null) return err(`${path}: ${found}`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (e) {
    return err(`${path}: cannot load the module: ${firstLine(errorMessage(e))}`);
  }
  if (typeof mod.traffic !== 'function')
    return err(`${path}: expected the module to export a function "traffic", got ${describe(mod.traffic)}`);
  const policy = mod.policy ?? {};
  if (!isPlainObject(policy))
    return err(`${path}: export "policy": expected an object of rollout keys, got ${describe(policy)}`);
  const maxSeconds = mod.maxSeconds;
  if (maxSeconds !== undefined && !isCount(maxSeconds, MAX_SECONDS_LIMIT))
    return err(
      `${path}: export "maxSeconds": expected an integer from 1 to ${MAX_SECONDS_LIMIT}, got ${describe(maxSeconds)}`,
    );
  return ok({ path, traffic: mod.traffic as TrafficFn, policy, maxSeconds });
}

async function fileProblem(path: string): Promise<string | null> {
  try {
    return (await stat(path)).isFile() ? null : 'not a file (expected a scenario module such as scenario.mjs)';
  } catch (e) {
    return describeFsError(e);
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isCount(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= max;
}

/** Errors thrown by user code may carry a multi-line message (a syntax error's code frame). */
export function firstLine(s: string): string {
  return s.split('\n', 1)[0] ?? '';
}
