// When a certificate is due and how long a failure waits: exact numbers from a fixed random.
import { describe, expect, it } from 'vitest';
import { acmeHosts, unorderable } from '../../../src/acme/hosts.js';
import {
  attemptAt,
  renewalDue,
  RETRY_AFTER_MAX_MS,
  retryAfterAt,
  retryDelay,
  retryTime,
} from '../../../src/acme/renewal.js';

const DAY = 86_400_000;

describe('renewal due time', () => {
  it('is two thirds of the lifetime', () => {
    expect(renewalDue(0, 90 * DAY)).toBe(60 * DAY);
    expect(renewalDue(1_000, 31_000)).toBe(21_000);
  });

  it('orders at once without a certificate, never before a failure allows', () => {
    expect(attemptAt(null, null)).toBe(0);
    expect(attemptAt(null, 5_000)).toBe(5_000);
    expect(attemptAt({ notBefore: 0, notAfter: 90 * DAY }, null)).toBe(60 * DAY);
    expect(attemptAt({ notBefore: 0, notAfter: 90 * DAY }, 61 * DAY)).toBe(61 * DAY);
    expect(attemptAt({ notBefore: 0, notAfter: 90 * DAY }, 59 * DAY)).toBe(60 * DAY);
  });
});

describe('retry backoff', () => {
  const b = { minMs: 60_000, maxMs: 3_600_000 };

  it('doubles per failure up to the max, drawn between half and all of it', () => {
    expect([1, 2, 3, 4].map((n) => retryDelay(n, b, () => 1))).toEqual([60_000, 120_000, 240_000, 480_000]);
    expect(retryDelay(1, b, () => 0)).toBe(30_000);
    expect(retryDelay(1, b, () => 0.5)).toBe(45_000);
    expect(retryDelay(50, b, () => 1)).toBe(3_600_000);
    expect(retryDelay(1_000, b, () => 0)).toBe(1_800_000);
  });
});

describe('Retry-After', () => {
  it('reads seconds or an HTTP date, nothing else', () => {
    expect(retryAfterAt('120', 1_000)).toBe(121_000);
    expect(retryAfterAt(' 0 ', 1_000)).toBe(1_000);
    const at = Date.parse('2026-10-21T07:28:00Z');
    expect(retryAfterAt('Wed, 21 Oct 2026 07:28:00 GMT', at - 60_000)).toBe(at);
    // Past a week it is a mistake: bounded where it is read, 13 digits of seconds included (no Date holds them).
    expect(retryAfterAt('Wed, 21 Oct 2026 07:28:00 GMT', 0)).toBe(RETRY_AFTER_MAX_MS);
    expect(retryAfterAt('9'.repeat(13), 1_000)).toBe(1_000 + RETRY_AFTER_MAX_MS);
    expect(retryAfterAt('9'.repeat(400), 1_000)).toBe(1_000 + RETRY_AFTER_MAX_MS);
    for (const bad of [undefined, '', '-5', '1.5', 'soon', ['120']]) expect(retryAfterAt(bad, 0)).toBeNull();
  });

  it('delays a retry to the time asked, bounded by a week, never before the backoff', () => {
    expect(retryTime(1_000, 60_000, null)).toBe(61_000);
    expect(retryTime(1_000, 60_000, 30_000)).toBe(61_000);
    expect(retryTime(1_000, 60_000, 5_000_000)).toBe(5_000_000);
    expect(retryTime(0, 60_000, 30 * 86_400_000)).toBe(RETRY_AFTER_MAX_MS);
  });
});

describe('hosts ordered for', () => {
  it('takes the listed names, normalized, each once', () => {
    expect(acmeHosts(['App.Example.com', 'app.example.com.', 'b.example.com'], ['*'])).toEqual([
      'app.example.com',
      'b.example.com',
    ]);
  });

  it("defaults to the services' exact hosts, without wildcards, ports or IP literals", () => {
    const services = ['*', '*.example.com', 'api.example.com:8080', 'web.example.com', '127.0.0.1', '[::1]'];
    expect(acmeHosts(undefined, [...services, 'WEB.example.com'])).toEqual(['api.example.com', 'web.example.com']);
  });

  it('leaves out single labels, IP literals and broken names, and says which', () => {
    const services = ['localhost', 'web:8080', '10.0.0.1', '[::1]:443', '-x-.example.com', 'app.example.com', '*'];
    expect(acmeHosts(undefined, services)).toEqual(['app.example.com']);
    expect(unorderable([...services, '*.example.com', 'web:8080'])).toEqual([
      'localhost',
      'web:8080',
      '10.0.0.1',
      '[::1]:443',
      '-x-.example.com',
      '*.example.com',
    ]);
  });
});
