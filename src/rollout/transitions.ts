// Applies one machine event to a service's stored rollout: transition, compare-and-set (fenced when
// the leader acts on its own initiative), then the events it emits. An operator's event that lost a
// race is applied once more to the fresh record (it means the same thing there, or is refused by the
// machine with the phase named); the leader's own events are not, they were decided on old data.
import { ConflictError, err, ok, type Result } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import type { RolloutEvent, RolloutState } from '../domain/rollout.js';
import type { Clock } from '../domain/clock.js';
import { transition, type MachineEvent } from './machine.js';
import type { Records } from './records.js';
import { withTimeline } from './timeline.js';

export type Emit = (e: Omit<RolloutEvent, 'seq' | 'at'>) => void;

export interface TransitionsDeps {
  records: Records;
  clock: Clock;
  log: Logger;
  emit: Emit;
  /** A fenced write was refused: this replica no longer leads. */
  fenced(reason: string): void;
}

/** Says what happened in a rollout, on the event stream (and so to webhooks). */
export function announce(
  emit: Emit,
  s: RolloutState,
  e: { kind: RolloutEvent['kind']; message: string; data?: Record<string, unknown> },
): void {
  emit({
    service: s.service,
    rolloutId: s.id,
    kind: e.kind,
    phase: s.phase,
    weight: s.weightBp / 100,
    message: e.message,
    ...(e.data ? { data: e.data } : {}),
  });
}

const conflict = (service: string): ConflictError =>
  new ConflictError(`rollout state of ${service} changed concurrently; retry`, 'state_conflict');

export class Transitions {
  constructor(private readonly d: TransitionsDeps) {}

  /** `token`: the leader's fencing token for its own events; null for an operator's. */
  async apply(service: string, event: MachineEvent, token: number | null): Promise<Result<RolloutState>> {
    const first = await this.once(service, event, token);
    if (first !== 'conflict') return first;
    const fresh = await this.refreshed(service, token);
    if (!fresh) return err(conflict(service));
    const again = await this.once(service, event, token);
    return again === 'conflict' ? err(conflict(service)) : again;
  }

  private async once(
    service: string,
    event: MachineEvent,
    token: number | null,
  ): Promise<Result<RolloutState> | 'conflict'> {
    const slot = this.d.records.rollout(service);
    if (!slot) return err(new ConflictError(`service ${service} has no rollout`, 'no_rollout'));
    const now = this.d.clock.now();
    const t = transition(slot.value, event, now);
    if (!t.ok) return err(new ConflictError(t.message, t.code));
    const state = withTimeline(slot.value, t.state, event, t.effects, now);
    const put = await this.d.records.write(service, 'rollout', state, slot.version, token);
    if (!put.ok && put.reason === 'fenced') {
      this.d.fenced(`write refused: fencing token ${token} is older than ${put.currentFence}`);
      return err(new ConflictError('this replica no longer leads (fenced); retry on the leader', 'not_leader'));
    }
    if (!put.ok) return 'conflict';
    for (const e of t.effects) announce(this.d.emit, state, e);
    return ok(state);
  }

  /**
   * After a conflict: whether the event may be tried once more. An operator's always (on the record
   * as it is now). The leader's only when the store had lost the record: it writes its copy back.
   */
  private async refreshed(service: string, token: number | null): Promise<boolean> {
    const mine = this.d.records.rollout(service);
    const version = await this.d.records.versionOf(service, 'rollout');
    if (token === null) return version > 0;
    if (version > 0 || mine === null) return false;
    const seed = await this.d.records.write(service, 'rollout', mine.value, 0, token);
    if (seed.ok)
      this.d.log.log('warn', 'rollout state was missing from the store; restored it from the leader', { service });
    return seed.ok;
  }
}
