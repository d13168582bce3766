// The history's pure parts (entries, append and cap, undo and retry plans) and its recording on a
// store shared by two replicas (each with its own Records cache) racing to record one rollout.
import { describe, expect, it } from 'vitest';
import { emptyStats } from '../../../src/analysis/judge.js';
import { rolloutPolicySchema } from '../../../src/config/schema.js';
import { silentLogger } from '../../../src/domain/log.js';
import { HISTORY_LIMIT, appendHistory, historyEntry, withLatest, type History } from '../../../src/domain/history.js';
import type { Phase, RolloutState } from '../../../src/domain/rollout.js';
import { RolloutHistory } from '../../../src/rollout/history.js';
import { newRollout } from '../../../src/rollout/machine.js';
import { Records } from '../../../src/rollout/records.js';
import { UNDO_OVERRIDES, retryPlan, undoPlan } from '../../../src/rollout/rerun-plan.js';
import { MemoryStore } from '../../../src/store/memory.js';

const T0 = 1_700_000_000_000;

function rollout(id: string, phase: Phase, extra: Partial<RolloutState> = {}): RolloutState {
  const s = newRollout(
    {
      id,
      service: 'web',
      strategy: 'canary',
      policy: rolloutPolicySchema.parse({}),
      canaryTargets: [`${id}:1`],
      stableTargets: ['old:1'],
      stats: emptyStats(),
    },
    T0,
  );
  return { ...s, phase, updatedAt: T0 + 5_000, ...extra };
}

const image = (id: string, phase: Phase, env: string[] | null = ['A=1']): RolloutState =>
  rollout(id, phase, {
    canaryTargets: ['127.0.0.1:32001'],
    docker: {
      image: 'app:2',
      env: ['GREETING=hi'],
      count: 2,
      stableGeneration: null,
      ...(env === null ? {} : { stableSpec: { image: 'app:1', env, count: 3 } }),
    },
  });

const historyOf = (...states: RolloutState[]): History => ({ entries: states.map(historyEntry) });

describe('history entries', () => {
  it('say what the canary and the stable pool were, the overrides and the end', () => {
    const e = historyEntry(rollout('r1', 'aborted', { overrides: { stepInterval: 60_000 }, reason: 'no' }));
    expect(e).toMatchObject({
      id: 'r1',
      phase: 'aborted',
      reason: 'no',
      canary: { targets: ['r1:1'] },
      stable: { targets: ['old:1'] },
      overrides: { stepInterval: 60_000 },
      origin: null,
      startedAt: T0,
      endedAt: T0 + 5_000,
      timeline: [],
      timelineCut: 0,
    });
    expect(historyEntry(rollout('r2', 'progressing')).endedAt).toBeNull();
    expect(historyEntry(image('r3', 'succeeded'))).toMatchObject({
      canary: { image: 'app:2', env: ['GREETING=hi'], count: 2 },
      stable: { generation: null, image: 'app:1', env: ['A=1'], count: 3 },
    });
    // Recorded by an older veer: the generation is known, its image is not.
    expect(historyEntry(image('r4', 'succeeded', null)).stable).toEqual({
      generation: null,
      image: null,
      env: null,
      count: null,
    });
  });

  it('are added once, newest first, and the oldest go past the limit', () => {
    let h: History | null = null;
    for (let i = 1; i <= HISTORY_LIMIT + 5; i++) h = appendHistory(h, historyEntry(rollout(`r${i}`, 'succeeded'))) ?? h;
    expect(h?.entries).toHaveLength(HISTORY_LIMIT);
    expect(h?.entries[0]?.id).toBe(`r${HISTORY_LIMIT + 5}`);
    expect(h?.entries[HISTORY_LIMIT - 1]?.id).toBe('r6');
    expect(appendHistory(h, historyEntry(rollout('r10', 'succeeded')))).toBeNull();
  });

  it('list the latest rollout on top unless it is recorded already', () => {
    const h = historyOf(rollout('r1', 'succeeded'));
    expect(withLatest(h, rollout('r2', 'progressing')).map((e) => [e.id, e.phase])).toEqual([
      ['r2', 'progressing'],
      ['r1', 'succeeded'],
    ]);
    expect(withLatest(h, rollout('r1', 'succeeded')).map((e) => e.id)).toEqual(['r1']);
    expect(withLatest(null, null)).toEqual([]);
  });
});

describe('undo and retry plans', () => {
  it('undo goes back to the stable of the newest promoted rollout, past rolled-back ones', () => {
    const entries = historyOf(
      rollout('r3', 'rolled-back'),
      rollout('r2', 'succeeded'),
      rollout('r1', 'succeeded'),
    ).entries;
    const plan = undoPlan('web', entries, rollout('r3', 'rolled-back'));
    expect(plan).toEqual({
      ok: true,
      value: { req: { canary: { targets: ['old:1'] }, rollout: { ...UNDO_OVERRIDES } }, of: 'r2', exactEnv: false },
    });
  });

  it('undo of an image rollout recreates the previous image with its whole env and count', () => {
    const plan = undoPlan('web', historyOf(image('r1', 'succeeded')).entries, null);
    expect(plan.ok && plan.value).toEqual({
      req: { canary: { image: 'app:1', env: ['A=1'], count: 3 }, rollout: { ...UNDO_OVERRIDES } },
      of: 'r1',
      exactEnv: true,
    });
  });

  it('undo refuses with 409s: a running rollout, nothing promoted, an image never recorded', () => {
    const code = (r: ReturnType<typeof undoPlan>): string | null => (r.ok ? null : r.error.code);
    const promoted = historyOf(rollout('r1', 'succeeded')).entries;
    expect(code(undoPlan('web', promoted, rollout('r2', 'paused')))).toBe('rollout_in_progress');
    expect(code(undoPlan('web', historyOf(rollout('r1', 'aborted')).entries, null))).toBe('nothing_to_undo');
    expect(code(undoPlan('web', [], null))).toBe('nothing_to_undo');
    expect(code(undoPlan('web', historyOf(image('r1', 'succeeded', null)).entries, null))).toBe('undo_unavailable');
    const r = undoPlan('web', promoted, rollout('r2', 'paused'));
    expect(!r.ok && r.error.httpStatus).toBe(409);
  });

  it('retry runs the latest rolled-back or aborted rollout again: same canary, same overrides', () => {
    const overrides = { steps: [25, 100], stepInterval: 60_000 };
    expect(retryPlan('web', rollout('r1', 'aborted', { overrides }))).toEqual({
      ok: true,
      value: { req: { canary: { targets: ['r1:1'] }, rollout: overrides }, of: 'r1', exactEnv: false },
    });
    const undone = image('r2', 'rolled-back');
    const docker = undone.docker as NonNullable<RolloutState['docker']>;
    const again = retryPlan('web', { ...undone, docker: { ...docker, exactEnv: true } });
    expect(again.ok && again.value).toMatchObject({
      req: { canary: { image: 'app:2', env: ['GREETING=hi'], count: 2 } },
      exactEnv: true,
    });
    const code = (r: ReturnType<typeof retryPlan>): string | null => (r.ok ? null : r.error.code);
    expect(code(retryPlan('web', rollout('r1', 'succeeded')))).toBe('nothing_to_retry');
    expect(code(retryPlan('web', rollout('r1', 'progressing')))).toBe('rollout_in_progress');
    expect(code(retryPlan('web', null))).toBe('nothing_to_retry');
  });
});

describe('RolloutHistory.record', () => {
  const replica = (store: MemoryStore): RolloutHistory =>
    new RolloutHistory({
      records: new Records({ store, log: silentLogger }),
      log: silentLogger,
      fenced: () => undefined,
    });

  it('two replicas racing to record one rollout record it once; the next one goes on top', async () => {
    const store = new MemoryStore();
    const [a, b] = [replica(store), replica(store)];
    const r1 = rollout('r1', 'rolled-back');
    expect(
      await Promise.all([a.record('web', r1, null), b.record('web', r1, null), a.record('web', r1, null)]),
    ).toEqual([true, true, true]);
    expect((await store.get<History>('history/web'))?.value.entries.map((e) => e.id)).toEqual(['r1']);
    await b.record('web', rollout('r2', 'succeeded'), null);
    await a.record('web', r1, null);
    expect((await a.list('web')).map((e) => e.id)).toEqual(['r2', 'r1']);
    // A running rollout is not recorded.
    expect(await a.record('web', rollout('r3', 'progressing'), null)).toBe(true);
    expect((await store.get<History>('history/web'))?.version).toBe(2);
  });
});
