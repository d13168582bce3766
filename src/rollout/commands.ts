// Operators' commands, on any replica: check the request against the stored records, write the
// record (compare-and-set), answer. The leader carries out what the new record owes (duty.ts), so a
// command posted to a follower never drains, creates or removes anything there.
import type { RolloutAction, RolloutRequest } from '../api/ports.js';
import type { KeyedQueue } from '../domain/async.js';
import type { Clock } from '../domain/clock.js';
import {
  ConflictError,
  NotFoundError,
  ValidationError,
  err,
  ok,
  type Result,
  type VeerError,
} from '../domain/errors.js';
import type { RolloutOrigin } from '../domain/history.js';
import { isTerminal, type RolloutPolicy, type RolloutState } from '../domain/rollout.js';
import { targetKey } from '../domain/target.js';
import type { ManualWeight } from '../domain/route.js';
import type { BasisPoints } from '../domain/weight.js';
import { emptyStats } from '../analysis/judge.js';
import { toEvent } from './actions.js';
import type { CanaryFleet } from './canary-fleet.js';
import { canaryPresence, promoteRefusal, promotes } from './canary-presence.js';
import type { RolloutHistory } from './history.js';
import { imagePlan } from './image-plan.js';
import { abortable, newRollout } from './machine.js';
import type { Records } from './records.js';
import { announce, type Emit, type Transitions } from './transitions.js';

export interface CommandsDeps {
  clock: Clock;
  emit: Emit;
  records: Records;
  transitions: Transitions;
  queue: KeyedQueue;
  policyOf(service: string): RolloutPolicy | undefined;
  /** The stable targets routed now (what a static-target rollout starts from). */
  stableNow(service: string): string[];
  configHash(service: string): string;
  newId(): string;
  fleet?: CanaryFleet | undefined;
  /** After a record changed here: the leader (if this replica leads) carries it out now. */
  wake(service: string): Promise<void>;
  history: RolloutHistory;
}

/** Reads and compare-and-set writes a start may take when other writes keep landing in between. */
const START_ATTEMPTS = 3;

const active = (s: RolloutState | null | undefined): RolloutState | null => (s && !isTerminal(s.phase) ? s : null);

function startedMessage(s: RolloutState): string {
  const what = s.docker ? `${s.docker.count} container(s) of ${s.docker.image}` : s.canaryTargets.join(', ');
  const why = s.origin ? ` (${s.origin.kind} of ${s.origin.of})` : '';
  return `rollout ${s.id} started (${s.strategy}) with canary ${what}${why}`;
}

/** Canary targets that are stable now: the canary would be judged against itself, and a promotion change nothing. */
function stableOverlap(service: string, req: RolloutRequest, stable: readonly string[]): ValidationError | null {
  if (!('targets' in req.canary)) return null;
  const stableKeys = new Set(stable.map(targetKey));
  const problems = req.canary.targets.flatMap((t, i) =>
    stableKeys.has(targetKey(t))
      ? [
          {
            path: `canary.targets[${i}]`,
            message: `${t} is in service ${service}'s stable pool: a canary needs its own`,
          },
        ]
      : [],
  );
  return problems.length > 0 ? new ValidationError(problems) : null;
}

export class RolloutCommands {
  constructor(private readonly d: CommandsDeps) {}

  /**
   * `policy`: the service's policy with the request's overrides, validated by the API layer. `extra`:
   * what an undo or a retry adds (why it was started; an env that is a container's whole env).
   */
  start(
    service: string,
    req: RolloutRequest,
    policy: RolloutPolicy,
    extra: { origin?: RolloutOrigin; exactEnv?: boolean } = {},
  ): Promise<Result<RolloutState>> {
    return this.d.queue
      .run(service, async () => {
        if (this.d.policyOf(service) === undefined) return err(new NotFoundError('service', service));
        // A write between the read and this one (the leader putting back what a flushed store lost, an ended
        // rollout recorded) is no reason to refuse: read again and decide again, a bounded number of times.
        const id = this.d.newId(); // one id for the start, however many attempts it takes
        for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
          const r = await this.startOnce(id, service, req, policy, extra);
          if (r !== 'conflict') return r;
        }
        return err(new ConflictError(`rollout state of ${service} changed concurrently; retry`, 'state_conflict'));
      })
      .then(async (r) => (r.ok ? this.settled(service, r.value) : r));
  }

  private async startOnce(
    id: string,
    service: string,
    req: RolloutRequest,
    policy: RolloutPolicy,
    extra: { origin?: RolloutOrigin; exactEnv?: boolean },
  ): Promise<Result<RolloutState> | 'conflict'> {
    // Read now, not from the cache: the store may have lost the record (then this writes version 1).
    const version = await this.d.records.versionOf(service, 'rollout');
    const latest = version > 0 ? (this.d.records.rollout(service)?.value ?? null) : null;
    const current = active(latest);
    if (current)
      return err(
        new ConflictError(
          `service ${service} already has rollout ${current.id} in phase ${current.phase}; abort it or wait`,
          'rollout_in_progress',
        ),
      );
    // The ended rollout this one replaces is in the history first, even if no leader recorded it.
    if (latest !== null) await this.d.history.record(service, latest, null);
    const overlap = stableOverlap(service, req, this.d.stableNow(service));
    if (overlap !== null) return err(overlap);
    const docker = await imagePlan(this.d.fleet, service, req, extra.exactEnv === true);
    if (!docker.ok) return docker;
    const state: RolloutState = {
      ...newRollout(
        {
          id,
          service,
          strategy: policy.strategy,
          policy,
          canaryTargets: 'targets' in req.canary ? [...req.canary.targets] : [],
          stableTargets: this.d.stableNow(service),
          stats: emptyStats(),
        },
        this.d.clock.now(),
      ),
      ...(docker.value ? { docker: docker.value } : {}),
      configHash: this.d.configHash(service),
      overrides: { ...req.rollout },
      ...(extra.origin ? { origin: extra.origin } : {}),
    };
    const put = await this.d.records.write(service, 'rollout', state, version, null);
    if (!put.ok) return 'conflict';
    announce(this.d.emit, state, { kind: 'started', message: startedMessage(state) });
    return ok(state);
  }

  act(
    service: string,
    action: RolloutAction,
    opts: { full: boolean; reason: string | null },
  ): Promise<Result<RolloutState>> {
    return this.d.queue
      .run(service, async (): Promise<Result<RolloutState>> => {
        if (this.d.policyOf(service) === undefined) return err(new NotFoundError('service', service));
        if (!this.d.records.rollout(service))
          return err(new ConflictError(`service ${service} has no rollout to ${action}`, 'no_rollout'));
        const refused = action === 'promote' ? await this.unpromotable(service, opts.full) : null;
        if (refused !== null) return err(refused);
        return this.d.transitions.apply(service, toEvent(action, opts), null);
      })
      .then(async (r) => (r.ok ? this.settled(service, r.value) : r));
  }

  /**
   * A canary with no running container (compose recreated its clones) is no successor: promoting it would remove
   * the stable pool and leave nothing. Only asked where the machine would promote (a step forward stands).
   */
  private async unpromotable(service: string, full: boolean): Promise<VeerError | null> {
    const s = this.d.records.rollout(service)?.value;
    if (s === undefined || !promotes(s, full)) return null;
    return promoteRefusal(s, await canaryPresence(this.d.fleet, s));
  }

  /**
   * Aborts the service's running rollout, if any, whatever its config says now (a reload removed the service
   * or moved its pools: the rollout carries its own policy). Queued after any start in flight, so a start that
   * raced the reload is caught too. `when` decides there, on the record as read, whether this rollout is one
   * to abort (a start that raced a reload wrote it under the old config). Null when none was aborted.
   */
  abortFor(
    service: string,
    reason: string,
    when: (s: RolloutState) => boolean = () => true,
  ): Promise<Result<RolloutState | null>> {
    return this.d.queue
      .run(service, async (): Promise<Result<RolloutState | null>> => {
        await this.d.records.read(service, ['rollout']);
        const s = this.d.records.rollout(service)?.value;
        if (s === undefined || !abortable(s.phase) || !when(s)) return ok(null);
        return this.d.transitions.apply(service, toEvent('abort', { full: false, reason }), null);
      })
      .then(async (r) => (r.ok && r.value !== null ? this.settled(service, r.value) : r));
  }

  /**
   * Sets the canary weight by hand. During a rollout it pauses the rollout at that weight; otherwise
   * it is recorded as the manual weight - and if a rollout started elsewhere meanwhile, that
   * rollout is paused at it too, so the shift is never silently lost. Returns whether a rollout was paused.
   */
  shift(service: string, weightBp: BasisPoints): Promise<Result<boolean>> {
    return this.d.queue.run(service, async () => {
      await this.d.records.read(service, ['rollout']);
      if (active(this.d.records.rollout(service)?.value)) return this.pause(service, weightBp);
      const latest = this.d.records.rollout(service)?.value ?? null;
      const manual: ManualWeight = { weightBp, after: latest?.id ?? null };
      if (!(await this.writeManual(service, manual)))
        return err(new ConflictError(`manual weight of ${service} changed concurrently; retry`, 'state_conflict'));
      await this.d.records.read(service, ['rollout']);
      const now = this.d.records.rollout(service)?.value ?? null;
      if (now !== null && now.id !== latest?.id && active(now)) return this.pause(service, weightBp);
      return ok(false);
    });
  }

  /** The latest operator's weight wins: compare-and-set against what the store holds now, twice at most. */
  private async writeManual(service: string, manual: ManualWeight): Promise<boolean> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const version = await this.d.records.versionOf(service, 'manual');
      if ((await this.d.records.write(service, 'manual', manual, version, null)).ok) return true;
    }
    return false;
  }

  private async pause(service: string, weightBp: BasisPoints): Promise<Result<boolean>> {
    const r = await this.d.transitions.apply(service, { type: 'manual-shift', weightBp }, null);
    return r.ok ? ok(true) : r;
  }

  /** This replica leads: carry the new record out before answering (a follower answers at once). */
  private async settled(service: string, s: RolloutState): Promise<Result<RolloutState>> {
    await this.d.wake(service);
    const now = this.d.records.rollout(service)?.value;
    return ok(now && now.id === s.id ? now : s);
  }
}
