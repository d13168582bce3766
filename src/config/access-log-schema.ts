// The `accessLog` section: one JSON line per request, where they go and how many are kept. Every
// default lives here. On by default, to stdout (veer's own log lines go to stderr, so stdout carries
// access lines only), like kamal-proxy's request log.
import { z } from 'zod';
import { durationValue } from './values.js';

/** A flush interval's bound: the lines it holds are lost with a crashed process. */
const MAX_FLUSH_MS = 10_000;

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
    /**
     * The longest a line waits for others to share its write (at once past 64 KiB queued). `0s`: at the end of the
     * event loop's turn that wrote it.
     */
    flushInterval: durationValue
      .refine((ms) => ms <= MAX_FLUSH_MS, { message: 'must be at most 10s (held lines are lost if veer crashes)' })
      .prefault('50ms'),
  })
  .strict()
  .prefault({});

export type AccessLogConfig = z.output<typeof accessLogSchema>;
