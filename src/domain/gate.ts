// Rollout gates: HTTP endpoints a rollout must hear 2xx from before it moves on (a smoke test before
// any traffic, a check before each weight increase, an approval before promotion). These are the
// values the policy, the stored rollout and the machine share; the HTTP calls live in an adapter.

export type GateName = 'beforeTraffic' | 'beforeEachStep' | 'beforePromotion';
export const GATE_NAMES: readonly GateName[] = ['beforeTraffic', 'beforeEachStep', 'beforePromotion'];

/** One gate as configured, with every default applied (timeout in ms). */
export interface GateConfig {
  url: string;
  timeout: number;
  /** Further attempts after a refused one, within one ask. */
  retries: number;
  headers: Record<string, string>;
}

export type Gates = Partial<Record<GateName, GateConfig>>;

/** A gate the rollout waits for before its next move (stored in the rollout record). */
export interface GateWait {
  name: GateName;
  /** When this occasion's gate fell due (or the rollout was resumed): refusals this long after it persist. */
  since: number;
  /** Asks refused since `since`. */
  refusals: number;
  /** When the last refusal was recorded; the next ask is an analysisInterval after it. */
  lastAskedAt: number | null;
  /** What the last refusal said (status or error, and the body's first line). */
  lastRefusal: string | null;
}

/** One ask's outcome, after its retries. */
export interface GateAnswer {
  passed: boolean;
  /** The HTTP status of the last attempt; null when none came (network error, timeout). */
  status: number | null;
  /** Why no status came; null when one did. */
  error: string | null;
  /** The first line of the last answer's body, trimmed and bounded. */
  firstLine: string;
  attempts: number;
}

/** "HTTP 503: smoke test failed", or the network error. */
export function answerText(a: GateAnswer): string {
  if (a.status === null) return a.error ?? 'no answer';
  return a.firstLine === '' ? `HTTP ${a.status}` : `HTTP ${a.status}: ${a.firstLine}`;
}
