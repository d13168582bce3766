import { afterEach, describe, expect, it } from 'vitest';
import { applyProbe, type HealthPolicy } from '../../../src/dataplane/health.js';
import { Upstream } from '../../../src/dataplane/upstream.js';

const POLICY: HealthPolicy = {
  path: '/healthz',
  interval: 5000,
  timeout: 2000,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
  expectStatusBelow: 400,
};

// A real Upstream (its undici Pool opens no socket until a request is made), so the test runs
// against the exact fields health.ts mutates.
const made: Upstream[] = [];
function upstream(): Upstream {
  const u = new Upstream(
    { host: '127.0.0.1', port: 9, id: '127.0.0.1:9' },
    { connectTimeout: 100, idleTimeout: 100, connections: 1, headersTimeout: 100, bodyTimeout: 100 },
  );
  made.push(u);
  return u;
}

afterEach(async () => {
  await Promise.all(made.splice(0).map((u) => u.close()));
});

describe('applyProbe', () => {
  it('starts healthy and turns unhealthy exactly at the unhealthy threshold', () => {
    const u = upstream();
    expect(u.healthy).toBe(true);
    expect(applyProbe(u, false, POLICY, 'ECONNREFUSED')).toBeNull();
    expect(applyProbe(u, false, POLICY, 'ECONNREFUSED')).toBeNull();
    expect(u.healthy).toBe(true);
    expect(applyProbe(u, false, POLICY, 'status 503')).toBe('became-unhealthy');
    expect(u.healthy).toBe(false);
    expect(u.lastHealthError).toBe('status 503');
  });

  it('reports the change once, not on every further failure', () => {
    const u = upstream();
    for (let k = 0; k < 3; k++) applyProbe(u, false, POLICY, 'x');
    for (let k = 0; k < 5; k++) expect(applyProbe(u, false, POLICY, 'x')).toBeNull();
    expect(u.healthy).toBe(false);
  });

  it('turns healthy again exactly at the healthy threshold', () => {
    const u = upstream();
    for (let k = 0; k < 3; k++) applyProbe(u, false, POLICY, 'x');
    expect(applyProbe(u, true, POLICY, null)).toBeNull();
    expect(u.healthy).toBe(false);
    expect(applyProbe(u, true, POLICY, null)).toBe('became-healthy');
    expect(u.healthy).toBe(true);
    expect(u.lastHealthError).toBeNull();
    expect(applyProbe(u, true, POLICY, null)).toBeNull();
  });

  it('needs the failures in a row: a success resets the streak', () => {
    const u = upstream();
    for (let round = 0; round < 5; round++) {
      expect(applyProbe(u, false, POLICY, 'x')).toBeNull();
      expect(applyProbe(u, false, POLICY, 'x')).toBeNull();
      expect(applyProbe(u, true, POLICY, null)).toBeNull();
    }
    expect(u.healthy).toBe(true);
    expect(u.healthFail).toBe(0);
  });

  it('needs the successes in a row: a failure resets the streak', () => {
    const u = upstream();
    for (let k = 0; k < 3; k++) applyProbe(u, false, POLICY, 'x');
    const slow = { ...POLICY, healthyThreshold: 3 };
    for (let round = 0; round < 5; round++) {
      expect(applyProbe(u, true, slow, null)).toBeNull();
      expect(applyProbe(u, true, slow, null)).toBeNull();
      expect(applyProbe(u, false, slow, 'x')).toBeNull();
    }
    expect(u.healthy).toBe(false);
    expect(u.healthOk).toBe(0);
  });

  it('with thresholds of 1 flips on every change of result', () => {
    const u = upstream();
    const one = { ...POLICY, healthyThreshold: 1, unhealthyThreshold: 1 };
    expect(applyProbe(u, false, one, 'a')).toBe('became-unhealthy');
    expect(applyProbe(u, true, one, null)).toBe('became-healthy');
    expect(applyProbe(u, true, one, null)).toBeNull();
    expect(applyProbe(u, false, one, 'b')).toBe('became-unhealthy');
    expect(u.lastHealthError).toBe('b');
  });
});
