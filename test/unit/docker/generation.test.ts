import { describe, expect, it } from 'vitest';
import { generations } from '../../../src/domain/generation.js';
import type { Phase, RolloutState } from '../../../src/domain/rollout.js';
import { imageRollout } from './fixtures/rollout.js';

function rollout(phase: Phase, stableGeneration: string | null, docker = true): RolloutState {
  const { docker: image, ...plain } = imageRollout('r2', phase, { stableGeneration });
  return docker ? { ...plain, docker: image } : plain;
}

describe('generations: which containers are stable, canary, being removed', () => {
  it('no rollout (or a static one): the unlabelled containers are stable', () => {
    expect(generations(null)).toEqual({
      stable: null,
      canary: null,
      retiring: null,
      hasCanary: false,
      hasRetiring: false,
    });
    expect(generations(rollout('progressing', 'r1', false)).stable).toBeNull();
  });

  it('while the rollout runs, its own generation is the canary', () => {
    for (const phase of ['starting', 'progressing', 'paused'] as const) {
      expect(generations(rollout(phase, 'r1'))).toEqual({
        stable: 'r1',
        canary: 'r2',
        retiring: null,
        hasCanary: true,
        hasRetiring: false,
      });
    }
  });

  it('promoting: the new generation is stable and the old one is being removed', () => {
    expect(generations(rollout('promoting', null))).toEqual({
      stable: 'r2',
      canary: null,
      retiring: null,
      hasCanary: false,
      hasRetiring: true,
    });
    expect(generations(rollout('succeeded', null))).toMatchObject({ stable: 'r2', hasRetiring: false });
  });

  it('rolling back keeps the old stable and removes the canary; after it, the old stable alone', () => {
    expect(generations(rollout('rolling-back', 'r1'))).toEqual({
      stable: 'r1',
      canary: null,
      retiring: 'r2',
      hasCanary: false,
      hasRetiring: true,
    });
    for (const phase of ['rolled-back', 'aborted'] as const)
      expect(generations(rollout(phase, 'r1'))).toMatchObject({ stable: 'r1', hasCanary: false, hasRetiring: false });
  });
});
