// Which config file `start` and `validate` read: -c, else $VEER_CONFIG, else ./proxy.config.yaml.
import type { Config } from '../config/schema.js';
import type { OptionValues } from './args.js';
import type { CliIO } from './command.js';

export const DEFAULT_CONFIG_PATH = 'proxy.config.yaml';

export function configPath(values: OptionValues, env: NodeJS.ProcessEnv): string {
  return values.config ?? (env.VEER_CONFIG || DEFAULT_CONFIG_PATH);
}

/**
 * Loads and validates the config named by the options, printing every problem when it is invalid.
 * Loaded lazily so client commands start without the YAML and schema modules.
 */
export async function loadConfigOrReport(values: OptionValues, io: CliIO): Promise<{ config: Config; path: string } | null> {
  const { loadConfigFile } = await import('../config/load.js');
  const { formatProblems } = await import('../config/problems.js');
  const path = configPath(values, io.env);
  const r = await loadConfigFile(path, io.env);
  if (!r.ok) {
    io.err(formatProblems(r.error, path));
    return null;
  }
  return { config: r.value, path };
}
