// The rollout controller: the timed loop that reads both pools' windows, asks the judge, feeds the
// machine and applies its effects. Every state change is persisted before its effects run, so a
// restarted (or newly elected) controller resumes from the stored state; effects are idempotent.
// Operations on one service are serialised, so a timer's analysis never interleaves with an
// operator's action.
import type { RolloutAction, RolloutControl, RolloutRequest, RolloutStatus } from '../api/ports.js';
import { rolloutPolicySchema } from '../config/schema.js';
import { ConflictError, NotFoundError, ValidationError, assertNever, err, ok, type Result } from '../domain/errors.js';
import { isTerminal, type RolloutEvent, type RolloutState } from '../domain/rollout.js';
import { emptyStats } from '../analysis/judge.js';
import { analysisEvent } from './analysis-input.js';
import { newRollout, transition, type Effect, type MachineEvent } from './machine.js';
import { rolloutStatus } from './status.js';
import type { PutResult } from '../store/port.js';
import type { ControllerDeps } from './controller-ports.js';
import { toEvent } from './actions.js';
import { imagePlan } from './image-plan.js';
import { CanaryLaunches } from './launches.js';

/** Every replica re-reads rollout state on this period too (a missed notification heals). */
const FOLLOW_REREAD_MS = 1000;
/** SIGTERM waits this long for background work (drains, removals); the persisted phase covers the rest. */
const STOP_WAIT_MS = 10_000;

export const rolloutKey = (service: string): string => `rollout/${service}`;

/** A write made on the leader's own initiative, with the lease token it held when the work began. */
interface Driven {
  token: number | null;
}

interface Slot {
  state: RolloutState;
  version: number;
}

export class RolloutController implements RolloutControl {
  private readonly slots = new Map<string, Slot>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly background = new Set<Promise<unknown>>();
  private readonly holdReason = new Map<string, string>();
  /** Canaries being made ready (containers created, health checks passed), per service. */
  private readonly launches: CanaryLaunches;
  private stopped = false;
  /** Only the leader analyses and resumes; a single proxy always leads. */
  private leading = true;
  private token: number | null = null;
  private services: readonly string[] = [];
  private followTimer: NodeJS.Timeout | null = null;
  private unfollow: (() => void) | null = null;

  constructor(private readonly d: ControllerDeps) {
    const host = {
      clock: d.clock,
      acting: () => this.leading && !this.stopped,
      current: (service: string) => this.slots.get(service)?.state ?? null,
      route: (service: string, s: RolloutState, targets: string[]) => this.routeCanary(service, s, targets),
      settle: (service: string, s: RolloutState, r: Result<string[], string>) => this.settle(service, s, r),
      track: (p: Promise<void>) => this.track(p),
    };
    this.launches = new CanaryLaunches(d.fleet, d.gate, host);
  }

  /** Loads persisted rollouts and resumes the ones that were mid-flight (single proxy: it leads). */
  async restore(services: readonly string[]): Promise<void> {
    this.services = services;
    await this.load(false, false);
    await this.resumeAll(true);
  }

  /** Several replicas: start as a follower; `lead` is called when this replica wins the lease. */
  async startFollowing(services: readonly string[]): Promise<void> {
    this.services = services;
    this.leading = false;
    await this.load();
    const offChange = this.d.feed?.onChange((key) => {
      if (key.startsWith('rollout/')) void this.load().catch(() => undefined);
    });
    const offReconnect = this.d.feed?.onReconnect(() => {
      if (!this.leading) void this.load(true).catch(() => undefined);
    });
    this.unfollow = () => {
      offChange?.();
      offReconnect?.();
    };
    // The leader re-reads too: a rollout started or aborted through a follower whose notification
    // was lost must still reach it.
    this.followTimer = setInterval(() => void this.load().catch(() => undefined), FOLLOW_REREAD_MS);
    this.followTimer.unref();
  }

  /** This replica now holds the lease: take over every rollout from its persisted state. */
  async lead(token: number): Promise<void> {
    this.token = token;
    this.leading = true;
    this.d.log.log('info', 'leading rollouts', { token });
    await this.load(false, false);
    await this.resumeAll();
  }

  /** The lease is lost: stop acting at once (timers off; fenced writes would be refused anyway). */
  follow(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.token = null;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    // The new leader launches again (idempotent by container name); two launchers would race.
    this.launches?.stopAll();
    this.d.log.log('warn', 'stopped leading rollouts', { reason });
  }

  isLeading(): boolean {
    return this.leading;
  }

  /**
   * `force`: take the stored version even if it is not newer (after a reconnect versions may restart).
   * `wake`: schedule what a loaded rollout needs (false when resumeAll follows and does it).
   */
  private async load(force = false, wake = true): Promise<void> {
    for (const service of this.services) {
      const rec = await this.d.store.get<RolloutState>(rolloutKey(service));
      const cur = this.slots.get(service);
      if (rec && (!cur || rec.version > cur.version || (force && rec.version !== cur.version))) {
        this.slots.set(service, { state: rec.value, version: rec.version });
        // Aborted (or replaced) through another replica: stop creating its containers.
        void this.launches?.stop(service, rec.value);
        // A rollout another replica started or moved: the leader takes up its analysis.
        if (wake) this.schedule(service);
      }
    }
  }

  /**
   * `restarted`: this process just started (a single veer). Then `onRestart: rollback` applies; a
   * replica taking over from a dead leader always resumes (a failover is not a restart).
   */
  private async resumeAll(restarted = false): Promise<void> {
    for (const service of this.services) {
      const s = this.slots.get(service)?.state;
      if (s && !isTerminal(s.phase)) {
        this.d.log.log('info', 'resuming rollout', { service, id: s.id, phase: s.phase, step: s.step });
        await this.serial(service, () => this.resumeEffects(service, restarted));
      }
      // Containers an interrupted run left behind (created after the last persisted change).
      const fleet = this.d.fleet;
      if (fleet && fleet.refuse(service) === null)
        this.track(this.serial(service, async () => void (await fleet.reconcile(service))));
    }
  }

  /** Re-reads every rollout from the store now. */
  refresh(): Promise<void> {
    return this.load();
  }

  /** The service's most recent rollout, terminal or not (which container generations are live). */
  latest(service: string): RolloutState | null {
    return this.slots.get(service)?.state ?? null;
  }

  /**
   * Compare-and-set. A leader-driven write (analysis, resuming) carries the token the leader had when
   * the work began and is always fenced among replicas: a leader that lost its lease mid-analysis is
   * refused even if it does not know yet. An operator's action is a plain compare-and-set from any replica.
   */
  private write(
    service: string,
    state: RolloutState,
    expectedVersion: number,
    driven?: Driven,
  ): Promise<PutResult | { ok: false; reason: 'fenced'; currentFence: number }> {
    if (this.d.fenced && driven !== undefined)
      return this.d.fenced.putFenced(rolloutKey(service), state, expectedVersion, driven.token ?? 0);
    return this.d.store.put(rolloutKey(service), state, expectedVersion);
  }

  status(service: string): RolloutStatus | null {
    const s = this.slots.get(service)?.state;
    return s ? rolloutStatus(s, this.d.routing.pool(service, 'canary')) : null;
  }

  active(service: string): RolloutState | null {
    const s = this.slots.get(service)?.state;
    return s && !isTerminal(s.phase) ? s : null;
  }

  start(service: string, req: RolloutRequest): Promise<Result<RolloutStatus>> {
    return this.serial(service, async () => {
      const base = this.d.policyOf(service);
      if (base === undefined) return err(new NotFoundError('service', service));
      const current = this.active(service);
      if (current)
        return err(
          new ConflictError(
            `service ${service} already has rollout ${current.id} in phase ${current.phase}; abort it or wait`,
            'rollout_in_progress',
          ),
        );
      const policy = rolloutPolicySchema.safeParse({ ...base, ...req.rollout });
      if (!policy.success)
        return err(
          new ValidationError(
            policy.error.issues.map((i) => ({ path: ['rollout', ...i.path].join('.'), message: i.message })),
          ),
        );
      const docker = await imagePlan(this.d.fleet, service, req);
      if (!docker.ok) return docker;
      const canaryTargets = 'targets' in req.canary ? [...req.canary.targets] : [];
      const state = newRollout(
        {
          id: this.d.newId(),
          service,
          strategy: policy.data.strategy,
          policy: policy.data,
          canaryTargets,
          stableTargets: this.d.routing.pool(service, 'stable'),
          stats: emptyStats(),
          ...(docker.value ? { docker: docker.value } : {}),
        },
        this.d.clock.now(),
      );
      const prev = this.slots.get(service);
      const put = await this.write(service, state, prev?.version ?? 0);
      if (!put.ok)
        return err(new ConflictError(`rollout state of ${service} changed concurrently; retry`, 'state_conflict'));
      this.slots.set(service, { state, version: put.version });
      const what = state.docker
        ? `${state.docker.count} container(s) of ${state.docker.image}`
        : state.canaryTargets.join(', ');
      this.emit(state, 'started', `rollout ${state.id} started (${state.strategy}) with canary ${what}`);
      await this.d.routing.setPool(service, 'canary', state.canaryTargets);
      await this.d.routing.setRetry(service, state.policy.retryCanaryOnStable);
      return this.makeReady(service, state);
    });
  }

  /**
   * Containers are created and health-gated in the background, and so are static targets when the
   * service has a health check; static targets without one are ready at once.
   */
  private async makeReady(service: string, s: RolloutState): Promise<Result<RolloutStatus>> {
    if (this.launches.needed(service, s)) {
      this.launches.start(service, s);
      return ok(this.status(service) as RolloutStatus);
    }
    const r = await this.apply(service, { type: 'canary-ready' });
    return r.ok ? ok(this.status(service) as RolloutStatus) : r;
  }

  /** Routes a launch's containers into the canary pool at weight 0, if the rollout still waits for them. */
  private routeCanary(service: string, s: RolloutState, targets: string[]): Promise<void> {
    return this.serial(service, async () => {
      const cur = this.slots.get(service)?.state;
      if (cur?.id === s.id && cur.phase === 'starting') await this.d.routing.setPool(service, 'canary', targets);
    });
  }

  /** Hands a launch's result to the machine (the rollout may have moved on meanwhile). */
  private settle(service: string, s: RolloutState, r: Result<string[], string>): Promise<void> {
    const driven: Driven = { token: this.token };
    return this.serial(service, async () => {
      const cur = this.slots.get(service)?.state;
      // Paused, aborted or replaced meanwhile: a resume launches again (idempotent).
      if (!cur || cur.id !== s.id || cur.phase !== 'starting') return;
      if (r.ok) {
        await this.d.routing.setPool(service, 'canary', r.value);
        await this.apply(service, { type: 'canary-ready', targets: r.value }, driven);
      } else
        await this.apply(service, { type: 'canary-failed', reason: `canary did not become ready: ${r.error}` }, driven);
    });
  }

  act(
    service: string,
    action: RolloutAction,
    opts: { full: boolean; reason: string | null },
  ): Promise<Result<RolloutStatus>> {
    return this.serial(service, async () => {
      if (this.d.policyOf(service) === undefined) return err(new NotFoundError('service', service));
      if (!this.slots.get(service))
        return err(new ConflictError(`service ${service} has no rollout to ${action}`, 'no_rollout'));
      const r = await this.apply(service, toEvent(action, opts));
      if (!r.ok) return r;
      // Resumed into `starting`: the canary still has to be made ready.
      if (r.value.phase === 'starting') return this.makeReady(service, r.value);
      return ok(this.status(service) as RolloutStatus);
    });
  }

  /** A manual shift during a rollout pauses it. Returns false when no rollout is active. */
  manualShift(service: string, weightBp: number): Promise<Result<boolean>> {
    return this.serial(service, async () => {
      const s = this.active(service);
      if (!s) return ok(false);
      const r = await this.apply(service, { type: 'manual-shift', weightBp });
      return r.ok ? ok(true) : r;
    });
  }

  /** One analysis now (the timer calls this; simulations call it with their own clock). */
  analyze(service: string): Promise<void> {
    return this.serial(service, async () => {
      const s = this.active(service);
      if (!s || s.phase !== 'progressing' || !this.leading) return;
      const driven: Driven = { token: this.token };
      let ev: MachineEvent | null;
      try {
        ev = await analysisEvent(s, this.d.metrics, this.d.clock.now());
      } catch (e) {
        // No decision without fresh data: hold, and say why (once per outage, not every interval).
        const why = `holding: metrics unavailable (${e instanceof Error ? e.message : String(e)})`;
        if (this.holdReason.get(service) !== why) this.emit(s, 'analysis', why);
        this.holdReason.set(service, why);
        return;
      }
      this.holdReason.delete(service);
      // The lease may have been lost while the metrics were read.
      if (!this.leading || this.token !== driven.token) return;
      if (ev !== null) await this.apply(service, ev, driven);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.followTimer) clearInterval(this.followTimer);
    this.unfollow?.();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    // A launch stops where it is; the persisted `starting` phase makes the next start reconcile.
    this.launches?.stopAll();
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<void>((r) => (timer = setTimeout(r, STOP_WAIT_MS)));
    await Promise.race([Promise.allSettled([...this.background]), cap]);
    clearTimeout(timer);
  }

  /** Runs a machine event: transition, persist, then effects. */
  private async apply(
    service: string,
    event: MachineEvent,
    driven?: Driven,
    reseeded = false,
  ): Promise<Result<RolloutState>> {
    const slot = this.slots.get(service);
    if (!slot) return err(new ConflictError(`service ${service} has no rollout`, 'no_rollout'));
    const t = transition(slot.state, event, this.d.clock.now());
    if (!t.ok) return err(new ConflictError(t.message, t.code));
    const put = await this.write(service, t.state, slot.version, driven);
    if (!put.ok && put.reason === 'fenced') {
      this.follow(`write refused: fencing token ${this.token} is older than ${put.currentFence}`);
      return err(new ConflictError(`this replica no longer leads (fenced); retry on the leader`, 'not_leader'));
    }
    if (!put.ok) {
      this.d.log.log('warn', 'rollout state changed under us; reloading', { service });
      const fresh = await this.d.store.get<RolloutState>(rolloutKey(service));
      if (fresh) this.slots.set(service, { state: fresh.value, version: fresh.version });
      else if (!reseeded && this.leading && !isTerminal(slot.state.phase)) {
        // The store lost the key (e.g. Redis restarted empty): the leader's copy is the best there
        // is. Write it back as new and apply the event again, once.
        const seed = await this.write(service, slot.state, 0, driven ?? { token: this.token });
        if (seed.ok) {
          this.d.log.log('warn', 'rollout state was missing from the store; restored it from the leader', { service });
          this.slots.set(service, { state: slot.state, version: seed.version });
          return this.apply(service, event, driven, true);
        }
      }
      return err(new ConflictError(`rollout state of ${service} changed concurrently; retry`, 'state_conflict'));
    }
    this.slots.set(service, { state: t.state, version: put.version });
    for (const e of t.effects) await this.effect(service, t.state, e);
    this.schedule(service);
    return ok(t.state);
  }

  private async effect(service: string, s: RolloutState, e: Effect): Promise<void> {
    switch (e.type) {
      case 'set-weight':
        return this.d.routing.setWeight(service, e.weightBp);
      case 'promote-pools':
        return this.d.routing.promote(service);
      case 'emit':
        return this.emit(s, e.kind, e.message, e.data);
      case 'remove-pool':
        this.track(this.removePool(service, s, e.pool, e.targets));
        return;
    }
  }

  /** Drains and removes a pool in the background, then tells the machine. */
  private async removePool(
    service: string,
    s: RolloutState,
    pool: 'canary' | 'old-stable',
    targets: string[],
  ): Promise<void> {
    if (pool === 'canary') {
      // Containers still being created must not appear after their generation was removed.
      await this.launches?.stop(service);
      await this.d.routing.setPool(service, 'canary', []);
    }
    // Other replicas apply the new routing within one re-read period: give them that before the
    // containers stop answering.
    if (s.docker && this.d.fenced) await new Promise((r) => setTimeout(r, FOLLOW_REREAD_MS + 250));
    const r = await this.d.drain(targets, s.policy.drainTimeout);
    if (!r.drained) this.d.log.log('warn', 'drain timed out; remaining requests cut', { service, pool, cut: r.cut });
    if (s.docker && this.d.fleet) {
      const generation = pool === 'canary' ? s.id : s.docker.stableGeneration;
      try {
        await this.d.fleet.retire(service, generation);
      } catch (e) {
        // The generation is routed nowhere any more; what is left of it is garbage for `veer prune`.
        this.emit(
          s,
          'analysis',
          `could not remove every container of the ${pool} pool: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    }
    if (this.stopped) return;
    await this.serial(service, async () => {
      if (this.slots.get(service)?.state.id !== s.id) return;
      await this.apply(service, { type: 'drained' });
      await this.d.routing.setRetry(service, null);
    });
  }

  /** After a restart: re-run what the persisted phase still owes. Effects are idempotent. */
  private async resumeEffects(service: string, restarted: boolean): Promise<void> {
    const s = (this.slots.get(service) as Slot).state;
    if (
      restarted &&
      s.policy.onRestart === 'rollback' &&
      (s.phase === 'starting' || s.phase === 'progressing' || s.phase === 'paused')
    ) {
      await this.apply(service, {
        type: 'interrupted',
        reason: `veer restarted during the rollout (onRestart: rollback; it was ${s.phase} at ${s.weightBp / 100}%)`,
      });
      return;
    }
    switch (s.phase) {
      case 'starting':
        await this.d.routing.setPool(service, 'canary', s.canaryTargets);
        await this.makeReady(service, s);
        return;
      case 'progressing':
      case 'paused':
        if (this.d.routing.weight(service) !== s.weightBp) await this.d.routing.setWeight(service, s.weightBp);
        this.schedule(service);
        return;
      case 'rolling-back':
        await this.d.routing.setWeight(service, 0);
        this.track(this.removePool(service, s, 'canary', s.canaryTargets));
        return;
      case 'promoting':
        if (this.d.routing.pool(service, 'canary').length > 0) await this.d.routing.promote(service);
        this.track(this.removePool(service, s, 'old-stable', s.stableTargets));
        return;
      case 'succeeded':
      case 'rolled-back':
      case 'aborted':
        return;
      default:
        assertNever(s.phase, 'phase');
    }
  }

  private schedule(service: string): void {
    if (this.d.timers === false || this.stopped || !this.leading) return;
    const s = this.active(service);
    const existing = this.timers.get(service);
    // A rollout started through another replica: only the leader makes its containers.
    if (s?.phase === 'starting' && this.launches.needed(service, s)) this.launches.start(service, s);
    if (!s || s.phase !== 'progressing') {
      if (existing) clearTimeout(existing);
      this.timers.delete(service);
      return;
    }
    if (existing) return;
    const t = setTimeout(() => {
      this.timers.delete(service);
      this.analyze(service)
        .catch((e: unknown) => this.d.log.log('error', 'analysis failed', { service, error: String(e) }))
        .finally(() => this.schedule(service));
    }, s.policy.analysisInterval);
    t.unref();
    this.timers.set(service, t);
  }

  private emit(s: RolloutState, kind: RolloutEvent['kind'], message: string, data?: Record<string, unknown>): void {
    this.d.emit({
      service: s.service,
      rolloutId: s.id,
      kind,
      phase: s.phase,
      weight: s.weightBp / 100,
      message,
      ...(data ? { data } : {}),
    });
  }

  private track(p: Promise<void>): void {
    const q = p.catch((e: unknown) => this.d.log.log('error', 'background rollout work failed', { error: String(e) }));
    this.background.add(q);
    void q.finally(() => this.background.delete(q));
  }

  private serial<T>(service: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(service) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.queues.set(
      service,
      next.catch(() => undefined),
    );
    return next;
  }
}
