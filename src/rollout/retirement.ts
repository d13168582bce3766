// The leader's effect runner for the end of a rollout: a pool that lost (the canary on a rollback,
// the old stable pool on a promotion) is drained and removed. Its targets are already out of every
// replica's route (routing is a projection of the phase); before containers are stopped, every live
// replica must have acknowledged a route without them and finished its own drain - bounded by the
// rollout's drainTimeout, after which the leader proceeds and says which replicas did not answer.
import { errorMessage } from '../domain/errors.js';
import type { RolloutState } from '../domain/rollout.js';
import type { Route } from '../domain/route.js';
import type { AckWait } from './acks.js';
import type { CanaryFleet } from './canary-fleet.js';
import { announce, type Emit } from './transitions.js';

/** Beyond the drain bound: time for a replica to apply the route and write its acknowledgement. */
const ACK_GRACE_MS = 5_000;

export interface RetirementDeps {
  emit: Emit;
  routeOf(service: string): Route | null;
  acks: { waitClear(service: string, targets: readonly string[], waitMs: number): Promise<AckWait> };
  fleet?: CanaryFleet;
  /** Stops a launch still creating the canary (its containers must not appear after removal). */
  stopLaunch(service: string): Promise<void>;
}

export type Pool = 'canary' | 'old-stable';

/** What leaves routing when `pool` is retired: the projection's draining list and the rollout's own list. */
export function retiringTargets(s: RolloutState, pool: Pool, route: Route | null): string[] {
  const listed = pool === 'canary' ? s.canaryTargets : s.stableTargets.filter((t) => !s.canaryTargets.includes(t));
  return [...new Set([...(route?.draining ?? []), ...listed])].sort();
}

export class Retirement {
  constructor(private readonly d: RetirementDeps) {}

  /** Drains and removes the pool; resolves when it is safe to record `drained`. */
  async retire(s: RolloutState, pool: Pool): Promise<void> {
    if (pool === 'canary') await this.d.stopLaunch(s.service);
    const targets = retiringTargets(s, pool, this.d.routeOf(s.service));
    const waited = await this.d.acks.waitClear(s.service, targets, s.policy.drainTimeout + ACK_GRACE_MS);
    if (!waited.clear)
      announce(this.d.emit, s, {
        kind: 'analysis',
        message:
          `removing the ${pool} pool although replica(s) ${waited.pending.join(', ')} did not acknowledge ` +
          `a route without it within ${s.policy.drainTimeout / 1000}s (+${ACK_GRACE_MS / 1000}s)`,
        data: { pending: waited.pending, targets },
      });
    if (!s.docker || !this.d.fleet) return;
    const generation = pool === 'canary' ? s.id : s.docker.stableGeneration;
    try {
      await this.d.fleet.retire(s.service, generation);
    } catch (e) {
      // The generation is routed nowhere any more; what is left of it is garbage for `veer prune`.
      announce(this.d.emit, s, {
        kind: 'analysis',
        message: `could not remove every container of the ${pool} pool: ${errorMessage(e)}`,
      });
    }
  }
}
