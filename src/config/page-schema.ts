// A service's own pages: for veer's 502/503/504 answers, and for maintenance (with its bounds).
// Paths are read when the config is applied (start, reload), never per request.
import { z } from 'zod';
import { positiveDuration } from './values.js';

const pagePath = z.string().min(1, 'expected the path of an HTML file');

/** HTML for veer's own 502/503/504 answers when the client accepts text/html (else the JSON body). */
export const errorPagesSchema = z
  .object({ '502': pagePath.optional(), '503': pagePath.optional(), '504': pagePath.optional() })
  .strict()
  .prefault({});

export const maintenanceSchema = z
  .object({
    /** HTML answered in `page` mode to clients accepting text/html (absent: a built-in page). */
    page: pagePath.optional(),
    /** Retry-After of a maintenance answer, unless the switch gives its own. */
    retryAfter: positiveDuration('30s'),
    /** How long a request waits in `hold` mode before it is answered 503. */
    holdTimeout: positiveDuration('30s'),
    /** Requests held at once, per process; more are answered 503 at once. */
    maxHeld: z.number().int().min(0).max(100_000).default(1000),
  })
  .strict()
  .prefault({});
