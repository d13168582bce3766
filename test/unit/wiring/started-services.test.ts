// The "veer started" line names the services it routes, but never so many that the line grows with them.
import { describe, expect, it } from 'vitest';
import { STARTED_NAMES, startedServices } from '../../../src/wiring/admin.js';

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `svc-${i}`);

describe('the start line’s services', () => {
  it('lists every name up to the limit, and no count', () => {
    expect(startedServices([])).toEqual({ services: [] });
    expect(startedServices(names(STARTED_NAMES))).toEqual({ services: names(STARTED_NAMES) });
  });

  it('past the limit lists the first names and says how many there are', () => {
    const r = startedServices(names(1_000));
    expect(r.services).toEqual(names(STARTED_NAMES));
    expect(r.serviceCount).toBe(1_000);
    expect(JSON.stringify(r).length).toBeLessThan(600);
  });
});
