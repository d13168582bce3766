// veer's event loop lateness over exactly one measured phase: two scrapes of its cumulative histogram
// (`veer_event_loop_lateness_seconds`, every 10 ms sample since start) and their difference. The 10 s
// window of `veer_event_loop_delay_seconds` is fixed to when veer started, so in a short run it takes in
// start-up and the warm-up (compilation stalls of tens of ms) along with the phase it is read after.
import { HOST } from './net.mjs';

const NAME = 'veer_event_loop_lateness_seconds_bucket';

/** Cumulative counts by `le` (seconds; Infinity for +Inf), in order; null when unread. */
export async function latenessOf(adminPort) {
  try {
    const res = await fetch(`http://${HOST}:${adminPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
    const rows = [];
    for (const m of (await res.text()).matchAll(new RegExp(`^${NAME}\\{le="([^"]+)"\\} (\\d+)$`, 'gm')))
      rows.push({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), count: Number(m[2]) });
    return rows.length ? rows : null;
  } catch {
    return null;
  }
}

/**
 * What happened between two scrapes: the number of samples, each quantile's bucket bound (ms: "at most
 * this late"; Infinity above the last edge) and the share of samples later than each of `overMs`.
 */
export function latenessBetween(before, after, overMs = [1, 5, 20]) {
  if (!before || !after || before.length !== after.length) return null;
  const cum = after.map((r, i) => ({ le: r.le, n: r.count - before[i].count }));
  // Another process's counts, or veer restarted between the scrapes: no difference to read.
  if (cum.some((r, i) => r.n < 0 || r.le !== before[i].le)) return null;
  const samples = cum.at(-1).n;
  if (samples <= 0) return null;
  const upTo = (q) => cum.find((r) => r.n >= Math.ceil(q * samples)).le * 1000;
  const later = (ms) => {
    const at = cum.find((r) => r.le * 1000 >= ms);
    return at ? (samples - at.n) / samples : 0;
  };
  return {
    samples,
    p50UpToMs: upTo(0.5),
    p99UpToMs: upTo(0.99),
    p999UpToMs: upTo(0.999),
    maxUpToMs: upTo(1),
    laterThan: overMs.map((ms) => ({ ms, share: later(ms) })),
  };
}
