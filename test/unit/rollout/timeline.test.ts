// The compact timeline: the real machine's transitions with withTimeline applied, as Transitions does.
import { describe, expect, it } from 'vitest';
import { emptyStats } from '../../../src/analysis/judge.js';
import { rolloutPolicySchema } from '../../../src/config/schema.js';
import type { RolloutState, Verdict, VerdictResult } from '../../../src/domain/rollout.js';
import { newRollout, transition, type MachineEvent } from '../../../src/rollout/machine.js';
import { TIMELINE_LIMIT, withTimeline } from '../../../src/rollout/timeline.js';

const T0 = 1_700_000_000_000;
const S = 1_000;

function fresh(overrides: Record<string, unknown> = {}): RolloutState {
  const policy = rolloutPolicySchema.parse({ steps: [10, 50, 100], stepInterval: '10s', ...overrides });
  return newRollout(
    {
      id: 'r1',
      service: 'web',
      strategy: 'canary',
      policy,
      canaryTargets: ['c:1'],
      stableTargets: ['s:1'],
      stats: emptyStats(),
    },
    T0,
  );
}

function verdict(result: VerdictResult, reason: string): Verdict {
  const pool = { requests: 0, errors: 0, errorRate: 0, p99Ms: 0 };
  return { result, failFast: false, reason, checks: [], canary: pool, stable: pool, at: 0 };
}

const analysis = (result: VerdictResult, reason: string): MachineEvent => ({
  type: 'analysis',
  verdict: verdict(result, reason),
  stats: emptyStats(),
  until: 0,
});

/** Applies events one by one, as Transitions does (the machine, then the timeline). */
function run(s: RolloutState, events: Array<[MachineEvent, number]>): RolloutState {
  for (const [e, at] of events) {
    const t = transition(s, e, at);
    if (!t.ok) throw new Error(t.message);
    s = withTimeline(s, t.state, e, t.effects, at);
  }
  return s;
}

const moments = (s: RolloutState): Array<[string, number, number]> =>
  (s.timeline ?? []).map((m) => [m.kind, m.weight, (m.at - T0) / S]);

describe('withTimeline', () => {
  it('keeps the steps, the start of each hold, failures and the passes that ended a step', () => {
    const s = run(fresh(), [
      [{ type: 'canary-ready' }, T0],
      [analysis('inconclusive', 'not enough data: canary served 3 of 200 requests so far'), T0 + 2 * S],
      // The same hold with other counts is no new moment; another reason is.
      [analysis('inconclusive', 'not enough data: canary served 90 of 200 requests so far'), T0 + 4 * S],
      [analysis('inconclusive', 'stable pool error rate 5.00% is over the limit 1.00%: holding'), T0 + 6 * S],
      [analysis('pass', 'canary within every limit'), T0 + 8 * S],
      [analysis('fail', 'error rate 4% over 1%'), T0 + 9 * S],
      [analysis('pass', 'canary within every limit'), T0 + 20 * S],
      [analysis('pass', 'canary within every limit'), T0 + 30 * S],
    ]);
    expect(moments(s)).toEqual([
      ['step', 10, 0],
      ['hold', 10, 2],
      ['hold', 10, 6],
      ['fail', 10, 9],
      ['pass', 50, 20],
      ['step', 50, 20],
      ['pass', 100, 30],
      ['promoting', 100, 30],
    ]);
    expect(s.timeline?.[1]?.note).toBe('not enough data: canary served 3 of 200 requests so far');
    expect(s.timelineCut).toBeUndefined();
  });

  it('records pauses, resumes, an abort and the end', () => {
    const s = run(fresh(), [
      [{ type: 'canary-ready' }, T0],
      [{ type: 'pause', reason: 'lunch' }, T0 + S],
      [{ type: 'resume' }, T0 + 2 * S],
      [{ type: 'abort', reason: 'wrong build' }, T0 + 3 * S],
      [{ type: 'drained' }, T0 + 4 * S],
    ]);
    expect(moments(s).map(([k, w]) => [k, w])).toEqual([
      ['step', 10],
      ['paused', 10],
      ['resumed', 10],
      ['rolling-back', 0],
      ['aborted', 0],
    ]);
  });

  it('is bounded: past the limit the middle goes, the start and the latest stay, and the cut is counted', () => {
    const events: Array<[MachineEvent, number]> = [[{ type: 'canary-ready' }, T0]];
    // Alternating hold reasons: every analysis is a moment.
    for (let i = 1; i <= TIMELINE_LIMIT + 49; i++)
      events.push([analysis('inconclusive', i % 2 === 0 ? 'not enough data' : 'stable pool incident'), T0 + i * S]);
    const s = run(fresh({ progressDeadline: '1h' }), events);
    expect(s.timeline).toHaveLength(TIMELINE_LIMIT);
    expect(s.timelineCut).toBe(50);
    expect(s.timeline?.[0]?.kind).toBe('step');
    expect(moments(s)[TIMELINE_LIMIT / 2 - 1]?.[2]).toBe(TIMELINE_LIMIT / 2 - 1);
    expect(moments(s)[TIMELINE_LIMIT / 2]?.[2]).toBe(TIMELINE_LIMIT / 2 + 50);
    expect(moments(s)[TIMELINE_LIMIT - 1]?.[2]).toBe(TIMELINE_LIMIT + 49);
  });

  it('cuts long notes', () => {
    const s = run(fresh(), [
      [{ type: 'canary-ready' }, T0],
      [analysis('fail', 'x'.repeat(1000)), T0 + S],
    ]);
    expect(s.timeline?.[1]?.note).toHaveLength(300);
    expect(s.timeline?.[1]?.note.endsWith('…')).toBe(true);
  });
});
