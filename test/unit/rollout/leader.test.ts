import { afterEach, describe, expect, it } from 'vitest';
import { emptyStats } from '../../../src/analysis/judge.js';
import { rolloutPolicySchema } from '../../../src/config/schema.js';
import { KeyedQueue } from '../../../src/domain/async.js';
import type { RolloutState } from '../../../src/domain/rollout.js';
import type { RolloutHistory } from '../../../src/rollout/history.js';
import { LeaderLoop } from '../../../src/rollout/leader.js';
import { newRollout } from '../../../src/rollout/machine.js';
import type { Records } from '../../../src/rollout/records.js';
import type { RetireEnd, Retirement } from '../../../src/rollout/retirement.js';
import type { Transitions } from '../../../src/rollout/transitions.js';

const T0 = 1_700_000_000_000;

/** A rollout the leader owes a retirement of the canary pool. */
function rollingBack(): RolloutState {
  const policy = rolloutPolicySchema.parse({ strategy: 'canary' });
  const s = newRollout(
    {
      id: 'r1',
      service: 'web',
      strategy: 'canary',
      policy,
      canaryTargets: ['127.0.0.1:9101'],
      stableTargets: ['127.0.0.1:9001'],
      stats: emptyStats(),
    },
    T0,
  );
  return { ...s, phase: 'rolling-back', weightBp: 0 };
}

async function until(cond: () => boolean, what: string, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/** The real loop over fakes: a store of one rollout, transitions that record what is fed, a held retirement. */
function harness() {
  let state = rollingBack();
  const applied: string[] = [];
  const pending: Array<() => void> = [];
  const records = { rollout: () => ({ value: state, version: 1 }) } as unknown as Records;
  const transitions = {
    apply: (_service: string, ev: { type: string }, token: number | null) => {
      applied.push(`${ev.type}@${token}`);
      if (ev.type === 'drained') state = { ...state, phase: 'rolled-back' };
      return Promise.resolve({ ok: true });
    },
  } as unknown as Transitions;
  const retirement = {
    retire: () => new Promise<RetireEnd>((r) => pending.push(() => r({ type: 'drained' }))),
  } as unknown as Retirement;
  const leader = new LeaderLoop({
    clock: { now: () => T0 },
    log: { log: () => undefined },
    emit: () => undefined,
    records,
    transitions,
    retirement,
    history: { record: () => Promise.resolve() } as unknown as RolloutHistory,
    metrics: {} as never,
    queue: new KeyedQueue(),
    services: ['web'],
    policyOf: () => undefined,
    timers: false,
  });
  return { leader, applied, pending, phase: () => state.phase };
}

describe('LeaderLoop retirement across a lost and regained lease', () => {
  let stop: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await stop?.();
    stop = null;
  });

  it('feeds drained under the new token once the first tenure’s retirement ends', async () => {
    const h = harness();
    stop = () => h.leader.stop();
    await h.leader.lead(1, false);
    await until(() => h.pending.length === 1, 'the first retirement');
    h.leader.follow('lease expired');
    await h.leader.lead(2, false);
    // The first tenure's run still holds the pool; the new tenure does not start a second one beside it.
    expect(h.pending).toHaveLength(1);
    h.pending[0]?.();
    // Released: the new tenure retires again (idempotent) and feeds `drained` with its own token.
    await until(() => h.pending.length === 2, 'the new tenure’s retirement');
    h.pending[1]?.();
    await until(() => h.phase() === 'rolled-back', 'the terminal transition');
    expect(h.applied).toEqual(['drained@2']);
  });

  it('leaves the pool alone when the run ends while this replica follows', async () => {
    const h = harness();
    stop = () => h.leader.stop();
    await h.leader.lead(1, false);
    await until(() => h.pending.length === 1, 'the first retirement');
    h.leader.follow('lease expired');
    h.pending[0]?.();
    await h.leader.stop();
    expect(h.pending).toHaveLength(1);
    expect(h.applied).toEqual([]);
    expect(h.phase()).toBe('rolling-back');
  });
});
