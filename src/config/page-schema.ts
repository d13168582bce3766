// A service's own pages: for veer's 502/503/504 answers, and for maintenance (with its bounds).
// Paths are read when the config is applied (start, reload), never per request.
import { z } from 'zod';
import { parseDuration } from '../domain/duration.js';
import { positiveDuration } from './values.js';

/** Retry-After's bound: a client told to wait longer than a day should rather ask again. */
export const MAX_RETRY_AFTER_MS = 86_400_000;
const RETRY_AFTER_RANGE = 'must be from 1s to 24h (Retry-After is whole seconds)';

/**
 * Retry-After is sent in whole seconds: at least one, at most MAX_RETRY_AFTER_MS. A fraction is refused,
 * as the CLI refuses it, rather than rounded to a value nobody gave. Every value out of that range gets the
 * same message, however far out it is.
 */
export const retryAfterValue = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const r = parseDuration(v);
  if (r.ok && r.ms >= 1000 && r.ms <= MAX_RETRY_AFTER_MS && r.ms % 1000 === 0) return r.ms;
  if (r.ok && r.ms >= 1000 && r.ms <= MAX_RETRY_AFTER_MS) {
    ctx.addIssue({ code: 'custom', message: `must be whole seconds (Retry-After is whole seconds), got ${String(v)}` });
    return z.NEVER;
  }
  // A duration beyond parseDuration's own bound (far above this one) is out of this range like any other.
  ctx.addIssue({ code: 'custom', message: r.ok || r.tooLong === true ? RETRY_AFTER_RANGE : r.message });
  return z.NEVER;
});

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
    retryAfter: retryAfterValue.prefault('30s'),
    /** How long a request waits in `hold` mode before it is answered 503. */
    holdTimeout: positiveDuration('30s'),
    /** Requests held at once, per process; more are answered 503 at once. */
    maxHeld: z.number().int().min(0).max(100_000).default(1000),
  })
  .strict()
  .prefault({});
