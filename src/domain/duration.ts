// Durations in config and API bodies are strings like "500ms", "30s", "2m", "1h" (or a bare number
// of milliseconds). Kept in one place so config, API and CLI agree.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/**
 * The longest duration a timer takes: 2^31 − 1 ms (~596 h), the longest a Node timer waits. A longer one was
 * taken and then fired at once (Node sets such a timer to 1 ms): `waitForTarget: 600h` answered in 10 ms.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** A lifetime that is no timer (a cookie's Max-Age, a login session): 400 days, as browsers cap Max-Age. */
export const MAX_LIFETIME_MS = 400 * 86_400_000;

/** `tooLong`: a well-formed duration over the bound (a field with a tighter bound says its own). */
export type ParsedDuration = { ok: true; ms: number } | { ok: false; message: string; tooLong?: true };

function tooLong(maxMs: number): { ok: false; message: string; tooLong: true } {
  const why = maxMs === MAX_DURATION_MS ? 'the longest a timer can wait' : 'the longest lifetime taken';
  return { ok: false, message: `must be at most ${Math.floor(maxMs / 3_600_000)}h (${why})`, tooLong: true };
}

export function parseDuration(v: unknown, maxMs = MAX_DURATION_MS): ParsedDuration {
  if (typeof v === 'number') {
    if (!(Number.isFinite(v) && v >= 0)) return { ok: false, message: 'expected a non-negative duration' };
    return v > maxMs ? tooLong(maxMs) : { ok: true, ms: v };
  }
  if (typeof v !== 'string') return { ok: false, message: 'expected a duration like "500ms", "30s", "2m"' };
  const m = DURATION.exec(v.trim());
  if (!m) return { ok: false, message: `expected a duration like "500ms", "30s", "2m", got "${v}"` };
  const ms = Math.round(Number(m[1]) * (UNIT_MS[m[2] as string] as number));
  return ms > maxMs ? tooLong(maxMs) : { ok: true, ms };
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
