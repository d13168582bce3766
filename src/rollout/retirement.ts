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
import { canaryPresence } from './canary-presence.js';
import { announce, type Emit } from './transitions.js';

/** Beyond the drain bound: time for a replica to apply the route and write its acknowledgement. */
const ACK_GRACE_MS = 5_000;
const DRAINED: RetireEnd = { type: 'drained' };

export interface RetirementDeps {
  emit: Emit;
  routeOf(service: string): Route | null;
  acks: { waitClear(service: string, targets: readonly string[], waitMs: number): Promise<AckWait> };
  fleet?: CanaryFleet;
  /** Stops a launch still creating the canary (its containers must not appear after removal). */
  stopLaunch(service: string): Promise<void>;
}

export type Pool = 'canary' | 'old-stable';

/** How a retirement ends: the pool is gone, or the old stable pool was kept (its successor does not run). */
export type RetireEnd = { type: 'drained' } | { type: 'canary-gone'; reason: string };

/** What leaves routing when `pool` is retired: the projection's draining list and the rollout's own list. */
export function retiringTargets(s: RolloutState, pool: Pool, route: Route | null): string[] {
  const listed = pool === 'canary' ? s.canaryTargets : s.stableTargets.filter((t) => !s.canaryTargets.includes(t));
  return [...new Set([...(route?.draining ?? []), ...listed])].sort();
}

export class Retirement {
  constructor(private readonly d: RetirementDeps) {}

  /**
   * Drains and removes the pool; resolves with `drained` when it is safe to record. The old stable pool is removed
   * only while the new generation runs (a promotion of a canary that vanished would leave nothing): else it is
   * kept and this resolves with why, for the rollout to go back to it.
   */
  async retire(s: RolloutState, pool: Pool): Promise<RetireEnd> {
    if (pool === 'canary') await this.d.stopLaunch(s.service);
    const kept = await this.keeps(s, pool);
    if (kept !== null) return kept;
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
    if (!s.docker || !this.d.fleet) return DRAINED;
    // Asked again at the last moment: the drain took up to drainTimeout, and the canary may have gone meanwhile.
    const late = await this.keeps(s, pool);
    if (late !== null) return late;
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
    return DRAINED;
  }

  /**
   * Why the old stable pool must stay, else null: its successor has no running container (the rollout goes
   * back to it), or no one can tell (an engine did not answer). Then nothing is removed on that word, nor rolled
   * back: the promotion stands, and what is left of the old pool is garbage for `veer prune`, as when a removal
   * fails.
   */
  private async keeps(s: RolloutState, pool: Pool): Promise<RetireEnd | null> {
    if (pool !== 'old-stable') return null;
    const p = await canaryPresence(this.d.fleet, s);
    if (p.kind === 'running') return null;
    if (p.kind === 'gone') return { type: 'canary-gone', reason: `the old stable pool was kept: ${p.reason}` };
    const message = `the old stable pool's containers were kept (veer prune removes them): ${p.reason}`;
    announce(this.d.emit, s, { kind: 'analysis', message });
    return DRAINED;
  }
}
