// Which generation of a service's containers is stable, which is the canary, which is being removed
// - decided from the latest rollout alone, so every replica and a restarted veer agree without any
// extra record. Chained: each image rollout remembers the generation it started from.
import type { RolloutState } from './rollout.js';

export interface Generations {
  /** Routed as the stable pool. */
  stable: string | null;
  /** Routed as the canary pool (only healthy, running members); absent when no image rollout runs. */
  canary: string | null;
  /** Being drained and removed by the controller: not routed, not garbage either. */
  retiring: string | null;
  /** Whether `canary` is set (null is also a generation name: the unlabelled one). */
  hasCanary: boolean;
  hasRetiring: boolean;
}

/** `latest`: the service's most recent rollout (terminal or not), or null when it never had one. */
export function generations(latest: RolloutState | null): Generations {
  const d = latest?.docker;
  // No image rollout yet: the containers the selector finds are the stable ones. (Static-target
  // rollouts are refused for Docker-backed services, so they never interleave with generations.)
  if (!latest || !d) return { stable: null, canary: null, retiring: null, hasCanary: false, hasRetiring: false };
  switch (latest.phase) {
    case 'starting':
    case 'progressing':
    case 'paused':
      return { stable: d.stableGeneration, canary: latest.id, retiring: null, hasCanary: true, hasRetiring: false };
    case 'rolling-back':
      return { stable: d.stableGeneration, canary: null, retiring: latest.id, hasCanary: false, hasRetiring: true };
    case 'promoting':
      return { stable: latest.id, canary: null, retiring: d.stableGeneration, hasCanary: false, hasRetiring: true };
    case 'succeeded':
      return { stable: latest.id, canary: null, retiring: null, hasCanary: false, hasRetiring: false };
    case 'rolled-back':
    case 'aborted':
      return { stable: d.stableGeneration, canary: null, retiring: null, hasCanary: false, hasRetiring: false };
  }
}
