import { describe, expect, it } from 'vitest';
import { pickIn } from '../../../src/dataplane/pool-choice.js';
import { attemptIn, canRetryOnStable, retryOf, stableRetry, type Attempt } from '../../../src/dataplane/retry.js';
import type { PoolRuntime, RoutingTable, ServiceRoute } from '../../../src/dataplane/table.js';
import type { Upstream } from '../../../src/dataplane/upstream.js';
import type { PoolWindow } from '../../../src/metrics/window.js';

// Retry decisions are pure over the attempt and the table: routes here carry only what they read.
const NOW = 1_000;
const first = (): number => 0;

function target(id: string): Upstream {
  const fields = { outstanding: 0, consecutiveFailures: 0, ejectedUntil: 0, healthy: true };
  return { address: { id }, ...fields } as unknown as Upstream;
}

function pool(name: 'stable' | 'canary', targets: Upstream[]): PoolRuntime {
  return { name, targets, window: {} as PoolWindow };
}

function route(
  name: string,
  stable: Upstream[],
  canary: Upstream[],
  retryCanaryOnStable = true,
  weightBp = 5000,
): ServiceRoute {
  return {
    name,
    weightBp,
    stable: pool('stable', stable),
    canary: pool('canary', canary),
    retryCanaryOnStable,
  } as unknown as ServiceRoute;
}

function table(...routes: ServiceRoute[]): RoutingTable {
  return { version: 1, routes: new Map(routes.map((r) => [r.name, r])) } as unknown as RoutingTable;
}

function attempt(r: ServiceRoute, on: 'stable' | 'canary', t: Upstream): Attempt {
  return { route: r, pool: r[on], target: t, attempt: 0, replayable: true, retryCanaryOnStable: r.retryCanaryOnStable };
}

describe('attemptIn: a retry routes by the table of now', () => {
  const [old, c, fresh] = [target('old'), target('c'), target('fresh')];
  const began = route('web', [old], [c]);

  it('keeps the attempt when its service is routed as it was', () => {
    const a = attempt(began, 'canary', c);
    expect(attemptIn(table(began), a)).toBe(a);
  });

  it('moves the attempt to the route of now, where its target is', () => {
    const now = route('web', [fresh], [c]);
    const a = attemptIn(table(now), attempt(began, 'canary', c));
    expect(a).toMatchObject({ route: now, pool: now.canary, target: c });
    // The canary's 5xx is asked again of the stable of now, not of the target released since.
    expect(stableRetry(a as Attempt, NOW, first)).toEqual({ route: now, pool: now.stable, target: fresh });
  });

  it('takes a promoted target as a stable attempt: its answer is stable’s, not asked again', () => {
    const promoted = route('web', [c], []);
    const a = attemptIn(table(promoted), attempt(began, 'canary', c));
    expect(a).toMatchObject({ route: promoted, pool: promoted.stable, target: c });
    expect(canRetryOnStable(a, NOW)).toBe(false);
  });

  it('finds a target recreated under the same address, so a retry never goes back to it', () => {
    const [a1, a2] = [target('a1'), target('a2')];
    const [a1Again, a2Again] = [target('a1'), target('a2')];
    const now = route('web', [a1Again, a2Again], [], false);
    const a = attemptIn(table(now), attempt(route('web', [a1, a2], [], false), 'stable', a1));
    expect(a?.target).toBe(a1Again);
    expect(retryOf(a as Attempt, 'connect', true, NOW, first)).toMatchObject({ target: a2Again });
  });

  it('keeps a target listed in both pools in the pool it was sent to', () => {
    const [s1, shared] = [target('s1'), target('shared')];
    const now = route('web', [s1, shared], [shared]);
    const a = attemptIn(table(now), attempt(route('web', [s1, shared], [shared]), 'canary', shared));
    expect(a).toMatchObject({ pool: now.canary, target: shared });
    expect(canRetryOnStable(a, NOW)).toBe(true);
  });

  it('keeps the policy it was sent under when a swap ends the override', () => {
    const [s1, c1] = [target('s1'), target('c1')];
    const now = route('web', [s1], [], false);
    const a = attemptIn(table(now), attempt(route('web', [s1], [c1], true), 'canary', c1));
    expect(canRetryOnStable(a, NOW)).toBe(true);
    expect(stableRetry(a as Attempt, NOW, first)?.target).toBe(s1);
  });

  it('keeps the pool by name when the failed target left routing', () => {
    const now = route('web', [fresh], []);
    expect(attemptIn(table(now), attempt(began, 'stable', old))).toMatchObject({ pool: now.stable, target: old });
  });

  it('is null when its service left the table', () => {
    const a = attemptIn(table(), attempt(began, 'stable', old));
    expect(a).toBeNull();
    expect(canRetryOnStable(a, NOW)).toBe(false);
  });
});

describe('canRetryOnStable', () => {
  it('needs a stable target other than the one that failed', () => {
    const c = target('c');
    expect(canRetryOnStable(attempt(route('web', [c], [c]), 'canary', c), NOW)).toBe(false);
    expect(canRetryOnStable(attempt(route('web', [target('s')], [c]), 'canary', c), NOW)).toBe(true);
  });

  it('is off for a stable attempt, a second attempt, a body and without retryCanaryOnStable', () => {
    const [s, c] = [target('s'), target('c')];
    const r = route('web', [s], [c]);
    expect(canRetryOnStable(attempt(r, 'stable', s), NOW)).toBe(false);
    expect(canRetryOnStable({ ...attempt(r, 'canary', c), attempt: 1 }, NOW)).toBe(false);
    expect(canRetryOnStable({ ...attempt(r, 'canary', c), replayable: false }, NOW)).toBe(false);
    expect(canRetryOnStable(attempt(route('web', [s], [c], false), 'canary', c), NOW)).toBe(false);
  });
});

describe('stableRetry', () => {
  it('asks another stable target, whatever the policy says by now (the answer is gone)', () => {
    const [s, c] = [target('s'), target('c')];
    const off = route('web', [s], [c], false);
    expect(stableRetry(attempt(off, 'canary', c), NOW, first)).toEqual({ route: off, pool: off.stable, target: s });
  });

  it('is null when stable has no other target', () => {
    const c = target('c');
    const promoted = route('web', [c], []);
    expect(stableRetry({ ...attempt(promoted, 'stable', c) }, NOW, first)).toBeNull();
    expect(stableRetry(attempt(route('web', [], [c]), 'canary', c), NOW, first)).toBeNull();
  });
});

describe('retryOf', () => {
  it('retries a refused connect on another target of the same pool, once', () => {
    const [a1, a2] = [target('a1'), target('a2')];
    const r = route('web', [a1, a2], [], false);
    expect(retryOf(attempt(r, 'stable', a1), 'connect', true, NOW, first)).toEqual({
      route: r,
      pool: r.stable,
      target: a2,
    });
    expect(retryOf({ ...attempt(r, 'stable', a1), attempt: 1 }, 'connect', true, NOW, first)).toBeNull();
    expect(retryOf(attempt(r, 'stable', a1), 'timeout', true, NOW, first)).toBeNull();
  });

  it('never retries in the other pool: a refused stable target does not send its client to the canary', () => {
    const [s, c] = [target('s'), target('c')];
    for (const weightBp of [0, 5000]) {
      const r = route('web', [s], [c], false, weightBp);
      expect(retryOf(attempt(r, 'stable', s), 'connect', true, NOW, first), `weight ${weightBp}`).toBeNull();
      expect(retryOf(attempt(r, 'stable', s), 'connect', true, NOW, first, true)).toBe('wait');
    }
  });
});

describe('pickIn: a pool without an eligible target', () => {
  const [s, c] = [target('s'), target('c')];
  const down = (): Upstream => ({ ...target('s-down'), healthy: false }) as Upstream;

  it("hands stable's share to the canary only while the canary's weight is above 0", () => {
    const closed = route('web', [down()], [c], false, 0);
    expect(pickIn(closed, closed.stable, NOW, first)).toEqual({ pool: null, why: 'no_healthy_targets' });
    const empty = route('web', [], [c], false, 0);
    expect(pickIn(empty, empty.stable, NOW, first)).toEqual({ pool: null, why: 'no_targets' });
    const open = route('web', [down()], [c], false, 1);
    expect(pickIn(open, open.stable, NOW, first)).toEqual({ pool: open.canary, target: c });
  });

  it("hands the canary's share to stable at any weight", () => {
    const r = route('web', [s], [down()], false, 10_000);
    expect(pickIn(r, r.canary, NOW, first)).toEqual({ pool: r.stable, target: s });
  });
});
