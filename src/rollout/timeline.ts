// The compact timeline a rollout keeps as it goes, for its history entry: each step's weight and
// start, and the analyses that changed the course (a failure, the start of a hold and why, the pass
// that ended a step) - not the hundreds of analyses in between. Pure; bounded.
import type { TimelineEntry, TimelineKind } from '../domain/history.js';
import type { EventKind, RolloutState } from '../domain/rollout.js';
import type { Effect, MachineEvent } from './machine.js';

/** Entries kept; past it the middle goes (the start and the latest moments are what an operator reads). */
export const TIMELINE_LIMIT = 200;
/** A note is a summary: long verdict reasons are cut here. */
const NOTE_MAX = 300;

/** Effects that are moments of their own (an 'analysis' effect is covered by the verdict rule below). */
const MOMENTS: Partial<Record<EventKind, TimelineKind>> = {
  'canary-ready': 'step',
  step: 'step',
  warning: 'warning',
  paused: 'paused',
  resumed: 'resumed',
  promoting: 'promoting',
  'rolling-back': 'rolling-back',
  succeeded: 'succeeded',
  'rolled-back': 'rolled-back',
  aborted: 'aborted',
};

/** `next` with the moments of the transition from `prev` appended to its timeline. */
export function withTimeline(
  prev: RolloutState,
  next: RolloutState,
  event: MachineEvent,
  effects: readonly Effect[],
  now: number,
): RolloutState {
  const weight = next.weightBp / 100;
  const added: TimelineEntry[] = [];
  const moved = effects.some((e) => e.kind === 'step' || e.kind === 'promoting');
  if (event.type === 'analysis') {
    const v = event.verdict;
    if (v.result === 'fail') added.push(entry(now, 'fail', weight, v.reason));
    else if (v.result === 'pass' && moved) added.push(entry(now, 'pass', weight, v.reason));
    else if (v.result === 'inconclusive' && !holding(prev.timeline ?? [], v.reason))
      added.push(entry(now, 'hold', weight, v.reason));
  }
  for (const e of effects) {
    const kind = MOMENTS[e.kind];
    if (kind !== undefined) added.push(entry(now, kind, weight, e.message));
  }
  if (added.length === 0) return next;
  let timeline = [...(prev.timeline ?? []), ...added];
  let cut = prev.timelineCut ?? 0;
  if (timeline.length > TIMELINE_LIMIT) {
    const over = timeline.length - TIMELINE_LIMIT;
    const half = TIMELINE_LIMIT / 2;
    timeline = [...timeline.slice(0, half), ...timeline.slice(half + over)];
    cut += over;
  }
  return { ...next, timeline, ...(cut > 0 ? { timelineCut: cut } : {}) };
}

const clip = (note: string): string => (note.length > NOTE_MAX ? `${note.slice(0, NOTE_MAX - 1)}…` : note);

function entry(at: number, kind: TimelineKind, weight: number, note: string): TimelineEntry {
  return { at, kind, weight, note: clip(note) };
}

/** The rollout holds already for the same reason (its counts aside): no new moment. */
function holding(timeline: readonly TimelineEntry[], reason: string): boolean {
  const last = timeline[timeline.length - 1];
  return last !== undefined && last.kind === 'hold' && shape(last.note) === shape(clip(reason));
}

/** A reason without its numbers ("canary served 12 of 200 requests" and "… 40 of 200 …" are one hold). */
function shape(reason: string): string {
  return reason.replace(/\d+(\.\d+)?/g, '#');
}
