// The `accessLog` section: one JSON line per request, where they go and how many are kept. Every
// default lives here. On by default, to stdout (veer's own log lines go to stderr, so stdout carries
// access lines only), like kamal-proxy's request log.
import { z } from 'zod';

export const accessLogSchema = z
  .object({
    /** `false`: no access lines at all (request ids are `proxy.requestIdHeader`'s, independent of this). */
    enabled: z.boolean().default(true),
    /** `stdout`, `stderr`, or the path of a file opened in append mode (reopened on SIGUSR1 for rotation). */
    output: z.string().min(1, 'expected "stdout", "stderr" or a file path').default('stdout'),
    /**
     * Share of successful requests written, in [0, 1]. 5xx answers, veer's own answers and clients that
     * closed before the answer are always written, whatever the sample.
     */
    sample: z.number().min(0, 'expected a share in [0, 1]').max(1, 'expected a share in [0, 1]').default(1),
  })
  .strict()
  .prefault({});

export type AccessLogConfig = z.output<typeof accessLogSchema>;
