// `workers: auto | N`: how many data-plane processes `veer start` runs. The number of cores is read
// once, where the setting is resolved (src/workers/count.ts), never here: the schema stays pure.
import { z } from 'zod';

export const MAX_WORKERS = 64;
const EXPECTED = `expected "auto" or an integer from 1 to ${MAX_WORKERS}`;

export const workersSchema = z
  .union([z.literal('auto'), z.number().int(EXPECTED).min(1, EXPECTED).max(MAX_WORKERS, EXPECTED)], {
    error: EXPECTED,
  })
  .default('auto');

export type WorkersSetting = z.output<typeof workersSchema>;
