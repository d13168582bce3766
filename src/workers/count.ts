// How many data-plane processes `workers` asks for here. `auto` takes every core when there are more
// than 2 (on 1 or 2 cores a second process would only compete with the primary's own work).
import type { Config } from '../config/schema.js';

/** `cores`: os.availableParallelism() at the caller, injected so the decision is pure. */
export function workerCount(config: Pick<Config, 'workers' | 'tls'>, cores: number): number {
  if (config.workers !== 'auto') return config.workers;
  // ACME's certificates and challenge answers stay in one process (see config/workers-check.ts).
  if (config.tls?.acme !== undefined) return 1;
  return cores > 2 ? Math.min(cores, 64) : 1;
}
