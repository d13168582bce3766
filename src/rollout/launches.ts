// The canary launches of image rollouts, one per service at most: create and health-gate the
// containers (through the CanaryFleet), hand the result to the controller, and recover when a
// launch ends without one - retried while the rollout is still `starting`, and what it created
// removed when its rollout is no longer live (aborted through another replica meanwhile).
import type { Clock } from '../domain/clock.js';
import type { Result } from '../domain/errors.js';
import { generations } from '../domain/generation.js';
import type { RolloutState } from '../domain/rollout.js';
import type { CanaryFleet } from './fleet.js';

/** What the launches need of the controller. */
export interface LaunchHost {
  clock: Clock;
  /** Whether this replica may act (leads, not stopping). */
  acting(): boolean;
  current(service: string): RolloutState | null;
  /** Feeds the result to the machine, if the rollout is still the one launched and `starting`. */
  settle(service: string, s: RolloutState, r: Result<string[], string>): Promise<void>;
  track(p: Promise<void>): void;
}

/** A launch that ended without a result is tried again after this. */
const RELAUNCH_MS = 1000;

interface Launch {
  id: string;
  abort: AbortController;
  done: Promise<void>;
}

export class CanaryLaunches {
  private readonly running = new Map<string, Launch>();

  constructor(
    private readonly fleet: CanaryFleet,
    private readonly host: LaunchHost,
  ) {}

  /** The wait is bounded by healthTimeout from this launch (resumed after a restart: the whole bound again). */
  start(service: string, s: RolloutState): void {
    if (this.running.has(service) || !this.host.acting()) return;
    const abort = new AbortController();
    const done = (async () => {
      const r = await this.fleet.launch(s, this.host.clock.now() + s.policy.healthTimeout, abort.signal);
      if (abort.signal.aborted || !this.host.acting()) return;
      await this.host.settle(service, s, r);
    })().finally(() => this.ended(service, s));
    this.running.set(service, { id: s.id, abort, done });
    this.host.track(done);
  }

  /** Stops the service's launch unless it is for `keep` (still `starting`); resolves when it has ended. */
  async stop(service: string, keep?: RolloutState): Promise<void> {
    const l = this.running.get(service);
    if (!l || (keep && keep.id === l.id && keep.phase === 'starting')) return;
    l.abort.abort();
    await l.done;
  }

  stopAll(): void {
    for (const l of this.running.values()) l.abort.abort();
  }

  private ended(service: string, s: RolloutState): void {
    this.running.delete(service);
    if (!this.host.acting()) return;
    const cur = this.host.current(service);
    if (cur?.id === s.id && cur.phase === 'starting') {
      setTimeout(() => this.start(service, cur), RELAUNCH_MS).unref();
      return;
    }
    const g = generations(cur);
    const live = g.stable === s.id || (g.hasCanary && g.canary === s.id);
    if (!live) this.host.track(this.fleet.retire(service, s.id));
  }
}
