// When a certificate is due and how long to wait after a failure: pure, so tests give exact times.
import type { Random } from '../domain/clock.js';

/** Renew at two thirds of the lifetime (what Caddy and certbot do): a 90-day certificate at day 60. */
export function renewalDue(notBefore: number, notAfter: number): number {
  return notBefore + Math.floor(((notAfter - notBefore) * 2) / 3);
}

export interface Backoff {
  minMs: number;
  maxMs: number;
}

/**
 * The wait before attempt `failures + 1` after `failures` failures in a row (≥ 1): doubled each time up
 * to the max, then drawn between half and all of it, so replicas of many installations do not retry together.
 */
export function retryDelay(failures: number, b: Backoff, random: Random): number {
  const exp = Math.min(Math.max(failures, 1) - 1, 40);
  const full = Math.min(b.maxMs, b.minMs * 2 ** exp);
  return Math.max(1, Math.round(full * (0.5 + 0.5 * random())));
}

/**
 * When a host's certificate should next be ordered (ms since the epoch): now when it has none, at two
 * thirds of its lifetime otherwise, and never before the retry time a failure set.
 */
export function attemptAt(cert: { notBefore: number; notAfter: number } | null, retryAt: number | null): number {
  const due = cert === null ? 0 : renewalDue(cert.notBefore, cert.notAfter);
  return Math.max(due, retryAt ?? 0);
}
