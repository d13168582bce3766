// The `state` section: where rollouts, weights and the leader lease live (a file, memory, or Redis
// shared by replicas).
import { z } from 'zod';
import { periodValue } from './values.js';

export const stateSchema = z
  .object({
    store: z.enum(['memory', 'file', 'redis']).default('file'),
    path: z.string().min(1).default('.veer/state.json'),
    redis: z.string().optional(),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, "_", "." or "-"')
      .default('veer'),
    /** Leader lease: another replica takes over within this long after the leader dies. */
    leaseTtl: periodValue(1000).prefault('5s'),
  })
  .strict()
  .prefault({})
  .superRefine((s, ctx) => {
    if (s.store === 'redis' && !s.redis)
      ctx.addIssue({ code: 'custom', path: ['redis'], message: 'required when store is "redis" (redis://host:port)' });
  });
