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

/**
 * The longest a CA's Retry-After is followed. Longer than `retryMax` on purpose: an order before the
 * time a rate limit lifts only meets the limit again (and Let's Encrypt's weekly limits answer days),
 * but a value past a week is taken as a mistake rather than a reason to stop renewing.
 */
export const RETRY_AFTER_MAX_MS = 7 * 86_400_000;

/** When a Retry-After header (seconds, or an HTTP date) says to come back, ms since the epoch; null: unsaid. */
export function retryAfterAt(header: unknown, now: number): number | null {
  if (typeof header !== 'string') return null;
  const value = header.trim();
  // Bounded here, where it is read: a time past any Date (13 digits of seconds) must not reach one.
  if (/^\d+$/.test(value)) return now + Math.min(Number(value) * 1000, RETRY_AFTER_MAX_MS);
  const at = /[a-z]/i.test(value) ? Date.parse(value) : NaN;
  return Number.isFinite(at) ? Math.min(at, now + RETRY_AFTER_MAX_MS) : null;
}

/** When to try again after a failure: the backoff's time, or later when the CA asked for later (bounded). */
export function retryTime(now: number, delayMs: number, askedAt: number | null): number {
  const asked = askedAt === null ? 0 : Math.min(askedAt, now + RETRY_AFTER_MAX_MS);
  return Math.max(now + delayMs, asked);
}
