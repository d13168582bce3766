// Which config file `start` and `validate` read: -c, else $VEER_CONFIG, else ./proxy.config.yaml.
import type { Config } from '../config/schema.js';
import type { Problem } from '../domain/errors.js';
import type { OptionValues } from './args.js';
import type { CliIO } from './command.js';

export const DEFAULT_CONFIG_PATH = 'proxy.config.yaml';

/** `--config=` (an empty value, e.g. from an unset shell variable) is a usage error, not "no such file". */
export function configOptionProblem(values: OptionValues): string | null {
  return values.config === '' ? '--config: expected the path of a config file, got an empty value' : null;
}

export function configPath(values: OptionValues, env: NodeJS.ProcessEnv): string {
  return values.config ?? (env.VEER_CONFIG || DEFAULT_CONFIG_PATH);
}

/**
 * Loads and validates the config named by the options, preflight included, printing every problem
 * when it is invalid and every warning either way. Loaded lazily so client commands start without
 * the YAML and schema modules.
 */
export async function loadConfigOrReport(
  values: OptionValues,
  io: CliIO,
): Promise<{ config: Config; path: string; warnings: Problem[] } | null> {
  const { inspectConfigFile } = await import('../config/load.js');
  const { formatProblems, formatWarning } = await import('../config/problems.js');
  const path = configPath(values, io.env);
  const { result, warnings } = await inspectConfigFile(path, io.env);
  if (!result.ok) io.err(formatProblems(result.error, path));
  for (const w of warnings) io.err(formatWarning(w));
  return result.ok ? { config: result.value, path, warnings } : null;
}
