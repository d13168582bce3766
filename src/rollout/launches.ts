// The canary launches, one per service at most: make the canary ready before it gets traffic, hand
// the result to the controller, and recover when a launch ends without one - retried while the
// rollout is still `starting`, and what it created removed when its rollout is no longer live
// (aborted through another replica meanwhile).
// "Ready" is two gates: an image rollout's containers are created and health-gated by the
// CanaryFleet; then, when the service has a health check, every canary target must have passed
// veer's own probes (static targets have only this one).
import type { Clock } from '../domain/clock.js';
import { err, ok, type Result } from '../domain/errors.js';
import { generations } from '../domain/generation.js';
import type { RolloutState } from '../domain/rollout.js';
import type { CanaryFleet } from './canary-fleet.js';

/** veer's own health checks of the canary pool (the data plane's), as the launches need them. */
export interface CanaryGate {
  /** Whether the service's targets must pass a health check before they get traffic. */
  checks(service: string): boolean;
  /** Resolves once every id, routed in the canary pool, passed its checks; or why not by `deadline`. */
  wait(service: string, ids: readonly string[], deadline: number, signal: AbortSignal): Promise<Result<void, string>>;
}

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
    private readonly fleet: CanaryFleet | undefined,
    private readonly gate: CanaryGate | undefined,
    private readonly host: LaunchHost,
  ) {}

  /** Whether a rollout of `s` has to wait for a launch before its first step. */
  needed(service: string, s: RolloutState): boolean {
    return s.docker !== undefined || this.gate?.checks(service) === true;
  }

  /** The wait is bounded by healthTimeout from this launch (resumed after a restart: the whole bound again). */
  start(service: string, s: RolloutState): void {
    if (this.running.has(service) || !this.host.acting()) return;
    const abort = new AbortController();
    const done = (async () => {
      const r = await this.ready(service, s, this.host.clock.now() + s.policy.healthTimeout, abort.signal);
      if (abort.signal.aborted || !this.host.acting()) return;
      await this.host.settle(service, s, r);
    })().finally(() => this.ended(service, s));
    this.running.set(service, { id: s.id, abort, done });
    this.host.track(done);
  }

  private async ready(
    service: string,
    s: RolloutState,
    deadline: number,
    signal: AbortSignal,
  ): Promise<Result<string[], string>> {
    let targets = s.canaryTargets;
    if (s.docker) {
      if (!this.fleet) return err('image rollouts need Docker pools');
      const made = await this.fleet.launch(s, deadline, signal);
      if (!made.ok || signal.aborted) return made;
      // Routed at weight 0 once the Docker watcher lists them (routing is a projection of membership),
      // so veer's own probes reach them before the gate below is passed.
      targets = made.value;
    }
    if (!this.gate?.checks(service)) return ok(targets);
    const passed = await this.gate.wait(service, targets, deadline, signal);
    return passed.ok ? ok(targets) : passed;
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
    if (!s.docker || !this.fleet) return;
    const g = generations(cur);
    const live = g.stable === s.id || (g.hasCanary && g.canary === s.id);
    if (!live) this.host.track(this.fleet.retire(service, s.id));
  }
}
