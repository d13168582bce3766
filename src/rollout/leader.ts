// The leader's loop: only the replica holding the lease (a single veer always does) carries out what each rollout's
// phase owes (duty.ts): launch the canary, ask its gates, analyse on a timer, retire the losing pool, with its fencing
// token on every write. Woken by every change of a rollout record, wherever it was made, and by its own timers.
import { KeyedQueue, settledWithin } from '../domain/async.js';
import type { Clock } from '../domain/clock.js';
import { errorMessage, type Result } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import { isTerminal, type RolloutPolicy, type RolloutState } from '../domain/rollout.js';
import { analysisEvent, type MetricsSource } from './analysis-input.js';
import type { CanaryFleet } from './canary-fleet.js';
import { canaryGone } from './canary-presence.js';
import { analyses, analysisDelay, dutyOf } from './duty.js';
import { GateAsks, type GateCaller } from './gate-asks.js';
import type { RolloutHistory } from './history.js';
import { CanaryLaunches, type CanaryGate } from './launches.js';
import type { Records } from './records.js';
import type { Pool, Retirement } from './retirement.js';
import { announce, type Emit, type Transitions } from './transitions.js';

/** SIGTERM waits this long for background work (drains, removals); the persisted phase covers the rest. */
const STOP_WAIT_MS = 10_000;

export interface LeaderDeps {
  clock: Clock;
  log: Logger;
  emit: Emit;
  records: Records;
  transitions: Transitions;
  retirement: Retirement;
  history: RolloutHistory;
  metrics: MetricsSource;
  queue: KeyedQueue;
  services: readonly string[];
  /** The service's policy as configured now (a restart applies the current `onRestart`, not the stored one). */
  policyOf(service: string): RolloutPolicy | undefined;
  timers: boolean; // false: a simulation drives analyze() itself
  fleet?: CanaryFleet | undefined;
  gate?: CanaryGate | undefined;
  gates?: GateCaller | undefined;
}

export class LeaderLoop {
  readonly launches: CanaryLaunches;
  private readonly gates: GateAsks;
  private leading = false;
  private token: number | null = null;
  private stopped = false;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly retiring = new Map<string, string>(); // `rolloutId/pool` per service: one at a time, across tenures
  private readonly holdReason = new Map<string, string>();
  private readonly background = new Set<Promise<void>>();

  constructor(private readonly d: LeaderDeps) {
    const host = { clock: d.clock, acting: () => this.isLeading(), track: (p: Promise<void>) => this.track(p) };
    this.launches = new CanaryLaunches(d.fleet, d.gate, {
      ...host,
      current: (service) => d.records.rollout(service)?.value ?? null,
      settle: (service, s, r) => this.settle(service, s, r),
    });
    this.gates = new GateAsks(d.gates, {
      ...host,
      token: () => this.token,
      feed: (service, ev, token) =>
        d.queue.run(service, async () => (await d.transitions.apply(service, ev, token)).ok),
    });
  }

  isLeading(): boolean {
    return this.leading && !this.stopped;
  }

  tokenNow(): number | null {
    return this.token;
  }

  /**
   * Takes over every rollout from its stored state. `restarted`: this process just started as a
   * single veer, so `onRestart: rollback` applies (a failover to another replica is not a restart).
   */
  async lead(token: number | null, restarted: boolean): Promise<void> {
    this.token = token;
    this.leading = true;
    for (const service of this.d.services) {
      const s = this.d.records.rollout(service)?.value ?? null;
      if (s !== null && restarted) await this.interrupted(service, s);
      await this.wake(service);
      // Containers an interrupted run left behind (created after the last persisted change).
      const fleet = this.d.fleet;
      if (fleet && fleet.refuse(service) === null)
        this.track(this.d.queue.run(service, async () => void (await fleet.reconcile(service))));
    }
  }

  /** The lease is lost: stop acting at once (fenced writes would be refused anyway). */
  follow(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.token = null;
    this.clearTimers();
    // The new leader launches again (idempotent by container name); two launchers would race.
    this.launches.stopAll();
    this.d.log.log('warn', 'stopped leading rollouts', { reason });
  }

  /** Carries out what the service's rollout owes now (no-op on a follower). Never rejects. */
  wake(service: string): Promise<void> {
    return this.d.queue
      .run(service, () => this.carryOut(service))
      .catch((e: unknown) => this.d.log.log('error', 'rollout work failed', { service, error: errorMessage(e) }));
  }

  /** One analysis now (the timer calls this; simulations call it with their own clock). */
  analyze(service: string): Promise<void> {
    return this.d.queue.run(service, async () => {
      const s = this.d.records.rollout(service)?.value;
      if (!s || s.phase !== 'progressing' || !this.isLeading()) return;
      const token = this.token;
      let ev;
      try {
        ev = (await canaryGone(this.d.fleet, s)) ?? (await analysisEvent(s, this.d.metrics, this.d.clock.now()));
      } catch (e) {
        // No decision without fresh data: hold, and say why (once per outage, not every interval).
        const why = `holding: metrics unavailable (${errorMessage(e)})`;
        if (this.holdReason.get(service) !== why) announce(this.d.emit, s, { kind: 'analysis', message: why });
        this.holdReason.set(service, why);
        return;
      }
      this.holdReason.delete(service);
      // The lease may have been lost while the metrics were read.
      if (!this.isLeading() || this.token !== token || ev === null) return;
      await this.d.transitions.apply(service, ev, token);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    // A launch stops where it is; the persisted `starting` phase makes the next start reconcile.
    this.launches.stopAll();
    await settledWithin(Promise.allSettled([...this.background]), STOP_WAIT_MS);
  }

  private async carryOut(service: string): Promise<void> {
    if (!this.isLeading()) return;
    const s = this.d.records.rollout(service)?.value ?? null;
    const duty = dutyOf(s);
    if (!analyses(duty)) this.clearTimer(service);
    if (duty.type !== 'gate') this.gates.stop(service);
    // Aborted or replaced meanwhile: stop creating its containers.
    if (duty.type !== 'launch') void this.launches.stop(service, s ?? undefined);
    if (s === null) return;
    switch (duty.type) {
      case 'launch':
        // A launch for a rollout replaced meanwhile ends; the one for `s` starts when it has.
        void this.launches.stop(service, s);
        if (this.launches.needed(service, s)) this.launches.start(service, s);
        else await this.d.transitions.apply(service, { type: 'canary-ready' }, this.token);
        return;
      case 'analyse':
      case 'gate':
        if (duty.type === 'gate') this.gates.ask(service, s);
        if (analyses(duty)) this.schedule(service, s);
        return;
      case 'retire':
        return this.retire(s, duty.pool);
      case 'none':
        // An ended rollout goes into the history (once: the record is keyed by rollout id).
        if (isTerminal(s.phase)) await this.d.history.record(service, s, this.token);
        return;
    }
  }

  private async interrupted(service: string, s: RolloutState): Promise<void> {
    const active = s.phase === 'starting' || s.phase === 'progressing' || s.phase === 'paused';
    const onRestart = this.d.policyOf(service)?.onRestart ?? s.policy.onRestart;
    if (!active || onRestart !== 'rollback') return;
    const reason = `veer restarted during the rollout (onRestart: rollback; it was ${s.phase} at ${s.weightBp / 100}%)`;
    const ev = { type: 'interrupted', reason } as const;
    await this.d.queue.run(service, () => this.d.transitions.apply(service, ev, this.token));
  }

  /** Hands a launch's result to the machine, if the rollout is still the one launched and `starting`. */
  private settle(service: string, s: RolloutState, r: Result<string[], string>): Promise<void> {
    const token = this.token;
    return this.d.queue.run(service, async () => {
      const cur = this.d.records.rollout(service)?.value;
      // Paused, aborted or replaced meanwhile: a resume launches again (idempotent).
      if (!cur || cur.id !== s.id || cur.phase !== 'starting') return;
      const ev = r.ok
        ? ({ type: 'canary-ready', targets: r.value } as const)
        : ({ type: 'canary-failed', reason: `canary did not become ready: ${r.error}` } as const);
      await this.d.transitions.apply(service, ev, token);
    });
  }

  private retire(s: RolloutState, pool: Pool): void {
    const key = `${s.id}/${pool}`;
    if (this.retiring.get(s.service) === key) return;
    this.retiring.set(s.service, key);
    const token = this.token;
    const run = async (): Promise<void> => {
      const ev = await this.d.retirement.retire(s, pool); // drained, or back to an old pool kept
      if (!this.isLeading() || this.token !== token) return;
      await this.d.queue.run(s.service, async () => {
        const cur = this.d.records.rollout(s.service)?.value;
        if (cur?.id === s.id && cur.phase === s.phase) await this.d.transitions.apply(s.service, ev, token);
      });
    };
    this.track(
      run().finally(() => {
        if (this.retiring.get(s.service) === key) this.retiring.delete(s.service);
        // Lease lost and won back meanwhile: this run fed no `drained` (stale token), the new tenure waited for it.
        if (this.token !== token && this.isLeading()) void this.wake(s.service);
      }),
    );
  }

  private schedule(service: string, s: RolloutState): void {
    if (!this.d.timers || this.timers.has(service)) return;
    const delay = analysisDelay(s, this.d.clock.now());
    const t = setTimeout(() => {
      this.analyze(service)
        .catch((e: unknown) => this.d.log.log('error', 'analysis failed', { service, error: errorMessage(e) }))
        .finally(() => {
          // Kept until now: a wake during the analysis must not set the next timer from the state before it.
          if (this.timers.get(service) === t) this.timers.delete(service);
          void this.wake(service);
        });
    }, delay);
    t.unref();
    this.timers.set(service, t);
  }

  private clearTimer(service: string): void {
    clearTimeout(this.timers.get(service));
    this.timers.delete(service);
  }

  private clearTimers(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.gates.stopAll();
  }

  private track(p: Promise<void>): void {
    const q = p.catch((e: unknown) => this.d.log.log('error', 'background rollout work failed', { error: String(e) }));
    this.background.add(q);
    void q.finally(() => this.background.delete(q));
  }
}
