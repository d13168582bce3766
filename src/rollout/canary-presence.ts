// Whether an image rollout's canary still runs. Its containers can vanish under a rollout - `compose up -d`
// recreates the clones it finds under its own labels from the file, someone runs `docker rm` - and then the
// old stable pool is all the service has: promoting would remove it and leave nothing. So a promotion (by the
// operator, or after the last step) and the removal of the old pool ask this first, and an analysis that
// finds the canary gone rolls the rollout back (stable is intact; there is nothing left to judge).
import type { RolloutState } from '../domain/rollout.js';
import type { CanaryFleet } from './canary-fleet.js';
import { ConflictError, errorMessage, UnavailableError, type VeerError } from '../domain/errors.js';
import type { MachineEvent } from './machine.js';
import { advancePromotes } from './progression.js';

/** `unknown`: none was found, but an engine did not answer (it may run one): nothing removed on that word. */
export type Presence = { kind: 'running' } | { kind: 'gone' | 'unknown'; reason: string };

/** A rollout of static targets has no containers to lose: always `running`. */
export async function canaryPresence(fleet: CanaryFleet | undefined, s: RolloutState): Promise<Presence> {
  if (!s.docker || !fleet) return { kind: 'running' };
  try {
    const r = await fleet.running(s.service, s.id);
    return presenceOf(s, r.count, r.unanswered);
  } catch (e) {
    return { kind: 'unknown', reason: `could not list the canary containers: ${errorMessage(e)}` };
  }
}

/** Pure: the presence of a canary with `count` running containers, `unanswered` engines not asked. */
export function presenceOf(s: RolloutState, count: number, unanswered: readonly string[]): Presence {
  if (count > 0) return { kind: 'running' };
  const which = `rollout ${s.id}'s canary (${s.docker?.image ?? 'its image'})`;
  if (unanswered.length > 0)
    return {
      kind: 'unknown',
      reason: `no running container of ${which} found: docker endpoint(s) ${unanswered.join(', ')} did not answer`,
    };
  return {
    kind: 'gone',
    reason: `the canary containers are gone: ${which} has no running container (removed or recreated outside veer)`,
  };
}

/**
 * How long an analysis waits for the engines' word: each engine's list is bounded by its own timeout (15 s), and
 * one that hangs would hold every analysis of every image rollout that long. Past this, it cannot be told.
 */
export const PRESENCE_WAIT_MS = 2_000;

/** The event that rolls a rollout back whose canary is gone (null while it runs, or cannot be told in time). */
export async function canaryGone(
  fleet: CanaryFleet | undefined,
  s: RolloutState,
  waitMs = PRESENCE_WAIT_MS,
): Promise<MachineEvent | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), waitMs);
    timer.unref();
  });
  try {
    const p = await Promise.race([canaryPresence(fleet, s), late]);
    return p?.kind === 'gone' ? { type: 'canary-gone', reason: p.reason } : null;
  } finally {
    clearTimeout(timer);
  }
}

/** Whether an operator's promote of `s` (`full`, or one step) would promote: only then is the presence asked. */
export function promotes(s: RolloutState, full: boolean): boolean {
  if (s.phase !== 'progressing' && s.phase !== 'paused') return false; // the machine answers the rest itself
  return full || (s.gate?.name !== 'beforeTraffic' && advancePromotes(s));
}

/**
 * A promotion refused by the canary's presence: 409 `canary_gone` when it is gone; 503 when an engine did not
 * answer (nothing can be told: try again); null when it runs.
 */
export function promoteRefusal(s: RolloutState, p: Presence): VeerError | null {
  if (p.kind === 'running') return null;
  const why = `cannot promote rollout ${s.id} of ${s.service}: ${p.reason}`;
  return p.kind === 'gone' ? new ConflictError(why, 'canary_gone') : new UnavailableError(`${why}; try again`);
}
