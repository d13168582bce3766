// A service's rollout history: the last rollouts that ended, newest first, each summed up once - what
// the canary and the stable pool were (so an undo can go back), the overrides it was started with
// and the moments that changed its course. Pure: the leader records entries (rollout/history.ts).
import { isTerminal, type Phase, type RolloutState, type Strategy } from './rollout.js';

/** Entries kept per service. */
export const HISTORY_LIMIT = 20;

/** One running container of a generation, as an undo recreates it: its image, its whole env, how many. */
export interface StableSpec {
  image: string;
  env: string[];
  count: number;
}

/** Why a rollout was started: an undo of a promoted rollout, or a retry of a rolled-back one. */
export interface RolloutOrigin {
  kind: 'undo' | 'retry';
  /** The rollout undone or retried. */
  of: string;
}

export type TimelineKind =
  | 'step'
  | 'pass'
  | 'fail'
  | 'hold'
  | 'warning'
  | 'paused'
  | 'resumed'
  | 'promoting'
  | 'rolling-back'
  | 'succeeded'
  | 'rolled-back'
  | 'aborted';

/** One moment that changed a rollout's course (the timeline keeps these, not every analysis). */
export interface TimelineEntry {
  at: number;
  kind: TimelineKind;
  /** The canary weight (percent) after it. */
  weight: number;
  note: string;
}

/** What a rollout's state carries for its history entry (every field absent in older records). */
export interface HistoryFields {
  /** The request's overrides of the service's policy (durations in ms): a retry applies them again. */
  overrides?: Record<string, unknown>;
  /** Set on an undo or a retry (absent: an operator's rollout). */
  origin?: RolloutOrigin;
  /** What changed the rollout's course, oldest first, bounded (rollout/timeline.ts). */
  timeline?: TimelineEntry[];
  /** Entries left out of a full timeline. */
  timelineCut?: number;
}

/** The canary of a rollout: static targets, or containers of an image. */
export type CanarySpec = { targets: string[] } | { image: string; env: string[]; count: number; exactEnv?: boolean };

/** What was stable when the rollout started: static targets, or a generation of containers (with its spec). */
export type StableOrigin =
  | { targets: string[] }
  | { generation: string | null; image: string | null; env: string[] | null; count: number | null };

/** One rollout in the history (times in ms since the epoch). */
export interface HistoryEntry {
  id: string;
  strategy: Strategy;
  /** The final phase (or the current one while the rollout runs). */
  phase: Phase;
  reason: string | null;
  startedAt: number;
  /** null while it runs. */
  endedAt: number | null;
  canary: CanarySpec;
  stable: StableOrigin;
  overrides: Record<string, unknown>;
  origin: RolloutOrigin | null;
  timeline: TimelineEntry[];
  /** Timeline entries left out because it was full. */
  timelineCut: number;
}

/** The stored record `history/<service>`. */
export interface History {
  entries: HistoryEntry[];
}

export function historyEntry(s: RolloutState): HistoryEntry {
  const d = s.docker;
  const canary: CanarySpec = d
    ? { image: d.image, env: [...d.env], count: d.count, ...(d.exactEnv ? { exactEnv: true } : {}) }
    : { targets: [...s.canaryTargets] };
  const spec = d?.stableSpec;
  const stable: StableOrigin = d
    ? { generation: d.stableGeneration, image: spec?.image ?? null, env: spec?.env ?? null, count: spec?.count ?? null }
    : { targets: [...s.stableTargets] };
  return {
    id: s.id,
    strategy: s.strategy,
    phase: s.phase,
    reason: s.reason,
    startedAt: s.startedAt,
    endedAt: isTerminal(s.phase) ? s.updatedAt : null,
    canary,
    stable,
    overrides: { ...(s.overrides ?? {}) },
    origin: s.origin ?? null,
    timeline: [...(s.timeline ?? [])],
    timelineCut: s.timelineCut ?? 0,
  };
}

/**
 * The history with `entry` added at the top and the oldest dropped past `limit`; null when it holds
 * that rollout already (each rollout is recorded once, whoever records it and however often).
 */
export function appendHistory(h: History | null, entry: HistoryEntry, limit = HISTORY_LIMIT): History | null {
  const entries = h?.entries ?? [];
  if (entries.some((e) => e.id === entry.id)) return null;
  return { entries: [entry, ...entries].slice(0, limit) };
}

/** Newest first, the latest rollout on top when the history does not hold it yet (it runs, or just ended). */
export function withLatest(h: History | null, latest: RolloutState | null): HistoryEntry[] {
  const entries = h?.entries ?? [];
  if (latest === null || entries.some((e) => e.id === latest.id)) return [...entries];
  return [historyEntry(latest), ...entries];
}
