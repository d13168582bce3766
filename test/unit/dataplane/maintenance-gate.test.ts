// A maintenance switch as the data plane applies it: Retry-After in whole seconds within the API's bound,
// even for a switch stored before that bound existed (the store hands back whatever was written).
import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS } from '../../../src/config/page-schema.js';
import { MaintenanceGate } from '../../../src/dataplane/maintenance.js';

describe('MaintenanceGate', () => {
  it('answers Retry-After in whole seconds from 1 to the bound, whatever the stored switch says', () => {
    const gate = new MaintenanceGate();
    const retryAfter = (retryAfterMs: number | null): number | null => {
      gate.set('web', { on: true, mode: 'page', retryAfterMs, since: '2026-12-04T00:00:00.000Z' });
      return gate.now('web')?.retryAfterS ?? null;
    };
    expect(retryAfter(1e308)).toBe(MAX_RETRY_AFTER_MS / 1000);
    expect(retryAfter(Number.POSITIVE_INFINITY)).toBeNull();
    expect(retryAfter(0.5)).toBe(1);
    expect(retryAfter(1500)).toBe(2);
    expect(retryAfter(null)).toBeNull();
  });
});
