// What an undo or a retry starts, decided from the history and the latest rollout alone. Pure: the
// commands (reruns.ts) check the engine and write the record.
import type { RolloutRequest } from '../api/ports.js';
import { ConflictError, err, ok, type Result } from '../domain/errors.js';
import type { HistoryEntry } from '../domain/history.js';
import { isTerminal, type RolloutState } from '../domain/rollout.js';

/**
 * An undo's policy over the service's own. Going back to the generation that was stable before is
 * going back to something that served already, so it is quick: the canary takes all traffic at once
 * (one step, 100%) as soon as it is ready - health-gated like any canary: containers must pass their
 * health check, static targets veer's probes when the service has a health check - and is promoted
 * after 5 s of traffic within the service's absolute limits. One failed analysis rolls it back
 * (failureLimit 1), like a failing health check at the start. With too little traffic to judge it
 * pauses after a minute, at 100%: the operator promotes it (traffic is on the old generation already).
 * Durations in ms, as stored overrides are.
 */
export const UNDO_OVERRIDES: Readonly<Record<string, unknown>> = {
  strategy: 'canary',
  steps: [100],
  stepInterval: 5_000,
  analysisInterval: 1_000,
  minRequests: 1,
  failureLimit: 1,
  progressDeadline: 60_000,
  onDeadline: 'pause',
  warmup: 0,
};

/** A rollout to start: the request (canary and overrides), why, and whether its env is a whole env. */
export interface Rerun {
  req: RolloutRequest;
  of: string;
  exactEnv: boolean;
}

const running = (s: RolloutState): ConflictError =>
  new ConflictError(
    `service ${s.service} has rollout ${s.id} in phase ${s.phase}; wait for it to end or abort it first`,
    'rollout_in_progress',
  );

/**
 * Undo: back to what was stable before the newest promoted rollout (a later rollout that was rolled
 * back or aborted changed nothing). `entries`: newest first, the latest rollout on top.
 */
export function undoPlan(
  service: string,
  entries: readonly HistoryEntry[],
  latest: RolloutState | null,
): Result<Rerun> {
  if (latest !== null && !isTerminal(latest.phase)) return err(running(latest));
  const promoted = entries.find((e) => e.phase === 'succeeded');
  if (promoted === undefined)
    return err(new ConflictError(`service ${service} has no promoted rollout to undo`, 'nothing_to_undo'));
  const rollout = { ...UNDO_OVERRIDES };
  const stable = promoted.stable;
  if ('targets' in stable) {
    if (stable.targets.length === 0)
      return err(
        new ConflictError(
          `rollout ${promoted.id} started from an empty stable pool: nothing to go back to`,
          'nothing_to_undo',
        ),
      );
    return ok({ req: { canary: { targets: [...stable.targets] }, rollout }, of: promoted.id, exactEnv: false });
  }
  if (stable.image === null)
    return err(
      new ConflictError(
        `rollout ${promoted.id} was recorded without the stable generation's image (an older veer): cannot recreate it`,
        'undo_unavailable',
      ),
    );
  const canary = { image: stable.image, env: [...(stable.env ?? [])], count: stable.count };
  return ok({ req: { canary, rollout }, of: promoted.id, exactEnv: stable.env !== null });
}

/** Retry: the latest rollout again, if it was rolled back or aborted - same canary, same overrides. */
export function retryPlan(service: string, latest: RolloutState | null): Result<Rerun> {
  if (latest === null) return err(new ConflictError(`service ${service} has no rollout to retry`, 'nothing_to_retry'));
  if (!isTerminal(latest.phase)) return err(running(latest));
  if (latest.phase !== 'rolled-back' && latest.phase !== 'aborted')
    return err(
      new ConflictError(
        `the latest rollout of ${service} (${latest.id}) ${latest.phase}; only a rolled-back or aborted one is retried`,
        'nothing_to_retry',
      ),
    );
  const d = latest.docker;
  const canary = d ? { image: d.image, env: [...d.env], count: d.count } : { targets: [...latest.canaryTargets] };
  return ok({
    req: { canary, rollout: { ...(latest.overrides ?? {}) } },
    of: latest.id,
    exactEnv: d?.exactEnv === true,
  });
}
