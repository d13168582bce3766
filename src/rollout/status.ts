// The API's view of a rollout.
import type { RolloutHistoryEntry, RolloutStatus } from '../api/ports.js';
import type { HistoryEntry } from '../domain/history.js';
import type { RolloutState } from '../domain/rollout.js';

const iso = (ms: number): string => new Date(ms).toISOString();

export function rolloutStatus(s: RolloutState, liveCanaryTargets: readonly string[]): RolloutStatus {
  return {
    id: s.id,
    strategy: s.strategy,
    phase: s.phase,
    step: s.step,
    weight: s.weightBp / 100,
    reason: s.reason,
    startedAt: iso(s.startedAt),
    updatedAt: iso(s.updatedAt),
    steps: s.strategy === 'canary' ? [...s.policy.steps] : [0, 100],
    stepStartedAt: iso(s.stepStartedAt),
    failures: s.failures,
    canary: { targets: liveCanaryTargets.length > 0 ? [...liveCanaryTargets] : [...s.canaryTargets] },
    lastVerdict: s.lastVerdict,
    ...((s.policy.targeting ?? []).length > 0 ? { targeting: s.policy.targeting } : {}),
    gate:
      s.gate && (s.phase === 'progressing' || s.phase === 'paused')
        ? { name: s.gate.name, since: iso(s.gate.since), refusals: s.gate.refusals, lastRefusal: s.gate.lastRefusal }
        : null,
  };
}

/** The API's view of a history entry: times as ISO strings, and no env of a stable generation or gate secret. */
export function historyView(e: HistoryEntry): RolloutHistoryEntry {
  const c = e.canary;
  const stable = e.stable;
  return {
    id: e.id,
    strategy: e.strategy,
    phase: e.phase,
    reason: e.reason,
    startedAt: iso(e.startedAt),
    endedAt: e.endedAt === null ? null : iso(e.endedAt),
    // An undo's env is the previous generation's whole env (secrets included): not shown.
    canary:
      'targets' in c
        ? { targets: [...c.targets] }
        : { image: c.image, env: c.exactEnv === true ? [] : [...c.env], count: c.count },
    stable:
      'targets' in stable
        ? { targets: [...stable.targets] }
        : { generation: stable.generation, image: stable.image, count: stable.count },
    overrides: overridesView(e.overrides),
    origin: e.origin,
    timeline: e.timeline.map((t) => ({ at: iso(t.at), kind: t.kind, weight: t.weight, note: t.note })),
    timelineCut: e.timelineCut,
  };
}

const HIDDEN = '(hidden)';

/**
 * The overrides as shown: a gate's header values (an API key, a bearer token) and its URL's query and
 * userinfo (`?key=…`) are secrets, hidden here only - the stored entry keeps them, so a retry asks the
 * same gates the same way.
 */
function overridesView(overrides: Record<string, unknown>): Record<string, unknown> {
  const gates = overrides['gates'];
  if (!isRecord(gates)) return { ...overrides };
  return { ...overrides, gates: Object.fromEntries(Object.entries(gates).map(([name, g]) => [name, gateView(g)])) };
}

function gateView(gate: unknown): unknown {
  if (typeof gate === 'string') return urlView(gate);
  if (!isRecord(gate)) return gate;
  const out: Record<string, unknown> = { ...gate };
  if (typeof gate['url'] === 'string') out['url'] = urlView(gate['url']);
  const headers = gate['headers'];
  if (isRecord(headers)) out['headers'] = Object.fromEntries(Object.keys(headers).map((k) => [k, HIDDEN]));
  return out;
}

/** The URL without what may be a credential: its query and userinfo show as hidden, its fragment goes. */
function urlView(url: string): string {
  if (!URL.canParse(url)) return HIDDEN;
  const u = new URL(url);
  const user = u.username !== '' || u.password !== '' ? `${HIDDEN}@` : '';
  const query = u.search !== '' ? `?${HIDDEN}` : '';
  return `${u.protocol}//${user}${u.host}${u.pathname}${query}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
