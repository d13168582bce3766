import { describe, expect, it } from 'vitest';
import type { RolloutState } from '../../../src/domain/rollout.js';
import type { CanaryFleet } from '../../../src/rollout/canary-fleet.js';
import {
  canaryGone,
  canaryPresence,
  presenceOf,
  promoteRefusal,
  promotes,
} from '../../../src/rollout/canary-presence.js';

const image = {
  id: 'r1',
  service: 'web',
  docker: { image: 'app:2', env: [], count: 2, stableGeneration: null },
} as unknown as RolloutState;
const targets = { id: 'r2', service: 'web' } as unknown as RolloutState;

/** A fleet that answers `running` with `r` (or fails with it), and counts the calls. */
function fleet(r: { count: number; unanswered: string[] } | Error): CanaryFleet & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    running: (service: string, gen: string) => {
      asked.push(`${service}/${gen}`);
      return r instanceof Error ? Promise.reject(r) : Promise.resolve(r);
    },
  } as unknown as CanaryFleet & { asked: string[] };
}

describe('presenceOf', () => {
  it('one running container is enough, whatever an engine that did not answer runs', () => {
    expect(presenceOf(image, 1, ['far'])).toEqual({ kind: 'running' });
  });

  it('none running while every engine answered: gone, naming the rollout and its image', () => {
    expect(presenceOf(image, 0, [])).toEqual({
      kind: 'gone',
      reason:
        "the canary containers are gone: rollout r1's canary (app:2) has no running container " +
        '(removed or recreated outside veer)',
    });
  });

  it('none found while an engine did not answer: unknown, naming that engine', () => {
    const p = presenceOf(image, 0, ['far']);
    expect(p.kind).toBe('unknown');
    expect(p).toMatchObject({ reason: expect.stringContaining('docker endpoint(s) far did not answer') });
  });
});

describe('canaryPresence and canaryGone', () => {
  it('asks the fleet for the rollout generation; a rollout of static targets is not asked', async () => {
    const f = fleet({ count: 0, unanswered: [] });
    expect((await canaryPresence(f, image)).kind).toBe('gone');
    expect(await canaryPresence(f, targets)).toEqual({ kind: 'running' });
    expect(await canaryPresence(undefined, image)).toEqual({ kind: 'running' });
    expect(f.asked).toEqual(['web/r1']);
  });

  it('a fleet that fails is unknown, not gone: nothing is rolled back on that', async () => {
    const f = fleet(new Error('socket hang up'));
    expect(await canaryPresence(f, image)).toEqual({
      kind: 'unknown',
      reason: 'could not list the canary containers: socket hang up',
    });
    expect(await canaryGone(f, image)).toBeNull();
    expect(await canaryGone(fleet({ count: 0, unanswered: ['far'] }), image)).toBeNull();
  });

  it('an engine that hangs holds an analysis for the wait at most: it cannot be told then', async () => {
    const hung = { running: () => new Promise<never>(() => undefined) } as unknown as CanaryFleet;
    expect(await canaryGone(hung, image, 20)).toBeNull();
  });

  it('gone is the event that rolls back, with the reason', async () => {
    expect(await canaryGone(fleet({ count: 0, unanswered: [] }), image)).toEqual({
      type: 'canary-gone',
      reason: expect.stringContaining('the canary containers are gone'),
    });
    expect(await canaryGone(fleet({ count: 2, unanswered: [] }), image)).toBeNull();
  });
});

describe('an operator promote and the canary presence', () => {
  const at = (o: Partial<RolloutState>): RolloutState =>
    ({ ...image, phase: 'progressing', strategy: 'canary', step: 0, weightBp: 500, ...o }) as RolloutState;
  const policy = { steps: [5, 25, 100] } as unknown as RolloutState['policy'];

  it('asks only where the machine would promote: a full promote, or a step past the last judged one', () => {
    expect(promotes(at({ policy }), true)).toBe(true);
    expect(promotes(at({ policy }), false)).toBe(false); // 5% → 25%: a step forward stands on its own
    expect(promotes(at({ policy, step: 1, weightBp: 2500 }), false)).toBe(true);
    expect(promotes(at({ policy, weightBp: 3000 }), false)).toBe(true); // shifted by hand past 25%
    expect(promotes(at({ policy, phase: 'paused' }), true)).toBe(true);
    expect(promotes(at({ policy, phase: 'promoting' }), true)).toBe(false);
  });

  it('refuses 409 canary_gone when it is gone, 503 when an engine did not answer, nothing while it runs', () => {
    const s = at({ policy });
    expect(promoteRefusal(s, { kind: 'running' })).toBeNull();
    expect(promoteRefusal(s, { kind: 'gone', reason: 'no container' })).toMatchObject({
      code: 'canary_gone',
      httpStatus: 409,
      message: 'cannot promote rollout r1 of web: no container',
    });
    expect(promoteRefusal(s, { kind: 'unknown', reason: 'far did not answer' })).toMatchObject({
      code: 'unavailable',
      httpStatus: 503,
      message: 'cannot promote rollout r1 of web: far did not answer; try again',
    });
  });
});
