// Which config file `start` and `validate` read: -c, else $VEER_CONFIG, else ./proxy.config.yaml.
import type { OptionValues } from './args.js';

export const DEFAULT_CONFIG_PATH = 'proxy.config.yaml';

export function configPath(values: OptionValues, env: NodeJS.ProcessEnv): string {
  return values.config ?? (env.VEER_CONFIG || DEFAULT_CONFIG_PATH);
}
