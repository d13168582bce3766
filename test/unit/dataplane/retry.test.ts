import { describe, expect, it } from 'vitest';
import { attemptIn, retryOf, stableRetry, type Attempt } from '../../../src/dataplane/retry.js';
import type { PoolRuntime, RoutingTable, ServiceRoute } from '../../../src/dataplane/table.js';
import type { Upstream } from '../../../src/dataplane/upstream.js';
import type { PoolWindow } from '../../../src/metrics/window.js';

// Retry decisions are pure over the attempt and the table: routes here carry only what they read.
const NOW = 1_000;
const first = (): number => 0;

function target(id: string): Upstream {
  return { id, outstanding: 0, consecutiveFailures: 0, ejectedUntil: 0, healthy: true } as unknown as Upstream;
}

function pool(name: 'stable' | 'canary', targets: Upstream[]): PoolRuntime {
  return { name, targets, window: {} as PoolWindow };
}

function route(name: string, stable: Upstream[], canary: Upstream[], retryCanaryOnStable = true): ServiceRoute {
  return {
    name,
    stable: pool('stable', stable),
    canary: pool('canary', canary),
    retryCanaryOnStable,
  } as unknown as ServiceRoute;
}

function table(...routes: ServiceRoute[]): RoutingTable {
  return { version: 1, routes: new Map(routes.map((r) => [r.name, r])) } as unknown as RoutingTable;
}

function attempt(r: ServiceRoute, on: 'stable' | 'canary', t: Upstream): Attempt {
  return { route: r, pool: r[on], target: t, attempt: 0, replayable: true };
}

describe('attemptIn: a retry routes by the table of now', () => {
  const [old, c, fresh] = [target('old'), target('c'), target('fresh')];
  const began = route('web', [old], [c]);

  it('keeps the attempt when its service is routed as it was', () => {
    const a = attempt(began, 'canary', c);
    expect(attemptIn(table(began), a)).toBe(a);
  });

  it('moves the attempt to the route of now, the same pool by name, the same failed target', () => {
    const now = route('web', [fresh], [c]);
    const a = attemptIn(table(now), attempt(began, 'canary', c));
    expect(a.route).toBe(now);
    expect(a.pool).toBe(now.canary);
    expect(a.target).toBe(c);
    // The canary's 5xx is asked again of the stable of now, not of the target released since.
    expect(stableRetry(a, NOW, first)?.target).toBe(fresh);
  });

  it('keeps the route it began with when its service left the table', () => {
    const a = attempt(began, 'stable', old);
    expect(attemptIn(table(), a)).toBe(a);
  });
});

describe('stableRetry', () => {
  it('never asks again the target that just failed (a promotion put it in stable)', () => {
    const c = target('c');
    const promoted = route('web', [c], []);
    expect(stableRetry({ ...attempt(promoted, 'stable', c), pool: promoted.canary }, NOW, first)).toBeNull();
  });

  it('is off for a stable attempt, a second attempt and without retryCanaryOnStable', () => {
    const [s, c] = [target('s'), target('c')];
    const r = route('web', [s], [c]);
    expect(stableRetry(attempt(r, 'canary', c), NOW, first)?.target).toBe(s);
    expect(stableRetry(attempt(r, 'stable', s), NOW, first)).toBeNull();
    expect(stableRetry({ ...attempt(r, 'canary', c), attempt: 1 }, NOW, first)).toBeNull();
    const off = route('web', [s], [c], false);
    expect(stableRetry(attempt(off, 'canary', c), NOW, first)).toBeNull();
  });
});

describe('retryOf', () => {
  it('retries a refused connect on another target of the same pool, once', () => {
    const [a1, a2] = [target('a1'), target('a2')];
    const r = route('web', [a1, a2], [], false);
    expect(retryOf(attempt(r, 'stable', a1), 'connect', true, NOW, first)).toMatchObject({ target: a2 });
    expect(retryOf({ ...attempt(r, 'stable', a1), attempt: 1 }, 'connect', true, NOW, first)).toBeNull();
    expect(retryOf(attempt(r, 'stable', a1), 'timeout', true, NOW, first)).toBeNull();
  });
});
