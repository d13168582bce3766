// The rollout simulator: what a policy would do with a user's traffic, before a real rollout. It
// drives the real controller, machine and judge on a virtual clock (no network, no timers): every
// virtual second the user's `traffic` function says what each pool served, those requests go into
// the real metric windows, and the controller analyses at the leader's cadence exactly as it does
// live. Stable API: `import { simulateRollout } from 'veer/simulate'`; `npm run bench:judge` and
// `veer simulate` are built on it.
import { rolloutPolicySchema } from './config/rollout-schema.js';
import { seededRandom, type Random } from './domain/clock.js';
import { silentLogger } from './domain/log.js';
import type { PoolName } from './domain/pool.js';
import type { RolloutPolicy, VerdictResult } from './domain/rollout.js';
import { routeFor, type Route } from './domain/route.js';
import { RouteGroups } from './metrics/route-groups.js';
import { EXCLUDED, NO_CLIENT, POOL_ONLY, PoolWindow } from './metrics/window.js';
import { RolloutController } from './rollout/controller.js';
import { analysisDelay } from './rollout/duty.js';
import { Records } from './rollout/records.js';
import { MemoryStore } from './store/memory.js';

/** One request a pool served in a virtual second. */
export interface SimRequest {
  /** HTTP status (≥ 500 is an error, 4xx a client error). */
  status: number;
  latencyMs: number;
  /** The request's path: grouped into routes by the policy's `routes` and `excludePaths`, as live. */
  route?: string;
  /** Who sent it (a sticky bucket or an address): no one client may supply most of the evidence. */
  client?: string | number;
  /** Which canary or stable instance served it: for the scenario's own bookkeeping (veer judges pools). */
  instance?: string | number;
}

export interface TrafficContext {
  /** Virtual seconds since the rollout started. */
  second: number;
  pool: PoolName;
  /** The canary's weight now, percent (0-100). */
  weight: number;
  /** This pool's share of the traffic now (0-1). */
  share: number;
  /** Seeded: the same seed gives the same run. */
  rand: Random;
}

export interface SimulateOptions {
  /** The same keys as a service's `rollout:` section, in config form ("30s", 0.01, …); defaults applied. */
  policy?: Record<string, unknown>;
  seed?: number;
  /** Stop after this many virtual seconds (default: one hour). */
  maxSeconds?: number;
  /** What `pool` served in virtual second `second`. */
  traffic: (ctx: TrafficContext) => readonly SimRequest[];
}

export type SimOutcome = 'succeeded' | 'rolled-back' | 'paused' | 'running';

export interface SimStep {
  second: number;
  /** Canary weight after the step, percent. */
  weight: number;
  /** The verdict that moved it (null for the first step). */
  verdict: VerdictResult | null;
}

export interface SimulationResult {
  outcome: SimOutcome;
  /** Virtual seconds until the outcome (or maxSeconds). */
  seconds: number;
  reason: string | null;
  /** Canary requests that failed (status ≥ 500) before the outcome: the exposure. */
  canaryFailed: number;
  canaryRequests: number;
  steps: SimStep[];
}

const SERVICE = 'sim';

/** Parses a `rollout:` section as the config would; throws with the field and what was expected. */
export function simulationPolicy(section: Record<string, unknown> = {}): RolloutPolicy {
  const r = rolloutPolicySchema.safeParse(section);
  // Gates are HTTP calls to the user's endpoints: nothing a virtual clock can answer for them.
  if (r.success && Object.values(r.data.gates).some((g) => g !== undefined))
    throw new Error('policy.gates: the simulator makes no HTTP calls; leave gates out');
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new Error(`policy.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
}

export async function simulateRollout(o: SimulateOptions): Promise<SimulationResult> {
  const policy = simulationPolicy(o.policy);
  const rand = seededRandom(o.seed ?? 1);
  const maxSeconds = o.maxSeconds ?? 3600;
  let now = Date.UTC(2026, 0, 1);
  const windows = { stable: new PoolWindow({ seconds: 900 }), canary: new PoolWindow({ seconds: 900 }) };
  const groups = new RouteGroups({ routes: policy.routes, excludePaths: policy.excludePaths, base: '/' });
  for (const w of Object.values(windows)) w.routes.use(groups);
  const records = new Records({ store: new MemoryStore(), log: silentLogger });
  const routeOf = () =>
    routeFor({ service: SIM_SERVICE, manual: null, rollout: records.rollout(SERVICE)?.value ?? null, members: null });
  const steps: SimStep[] = [];
  const c = simController(
    records,
    policy,
    () => now,
    windows,
    routeOf,
    (weight) => {
      const verdict = records.rollout(SERVICE)?.value.lastVerdict?.result ?? null;
      steps.push({ second: second(), weight, verdict });
    },
  );
  const started = now;
  const second = (): number => Math.round((now - started) / 1000);
  let canaryFailed = 0;
  let canaryRequests = 0;
  try {
    await c.restore();
    const r = await c.start(SERVICE, { canary: { targets: ['canary:1'] }, rollout: {} }, policy);
    if (!r.ok) throw new Error(`the simulated rollout did not start: ${r.error.message}`);
    steps.push({ second: 0, weight: (routeOf()?.weightBp ?? 0) / 100, verdict: null });
    let nextAnalysis = 0;
    for (let t = 0; t < maxSeconds; t++) {
      const weight = (routeOf()?.weightBp ?? 0) / 100;
      for (const pool of ['stable', 'canary'] as const) {
        const share = pool === 'canary' ? weight / 100 : 1 - weight / 100;
        const served = o.traffic({ second: t, pool, weight, share, rand });
        for (const q of served) {
          const g = q.route === undefined ? POOL_ONLY : groups.classify(q.route);
          const group = q.route === undefined ? POOL_ONLY : g === EXCLUDED ? EXCLUDED : groups.code(g);
          windows[pool].record(now + Math.floor(rand() * 1000), q.status, q.latencyMs, group, clientKey(q.client));
          if (pool === 'canary') {
            canaryRequests++;
            if (q.status >= 500) canaryFailed++;
          }
        }
      }
      now += 1000;
      if (t >= nextAnalysis) nextAnalysis = t + (await analyzeNow(c, records, now));
      const s = c.status(SERVICE);
      const outcome = outcomeOf(s?.phase);
      if (outcome !== null)
        return { outcome, seconds: t + 1, reason: s?.reason ?? null, canaryFailed, canaryRequests, steps };
    }
    return { outcome: 'running', seconds: maxSeconds, reason: null, canaryFailed, canaryRequests, steps };
  } finally {
    await c.stop();
  }
}

/** One analysis; returns the whole simulated seconds until the next, at the leader's cadence (duty.ts). */
async function analyzeNow(c: RolloutController, records: Records, now: number): Promise<number> {
  await c.analyze(SERVICE);
  const state = records.rollout(SERVICE)?.value;
  return state ? Math.max(1, Math.round(analysisDelay(state, now) / 1000)) : 1;
}

const SIM_SERVICE = { name: SERVICE, stable: ['stable:1'], canary: [], weightBp: 0, configHash: 'sim', docker: null };

/** The real controller with in-memory records, the windows as its metrics, and no timers of its own. */
function simController(
  records: Records,
  policy: RolloutPolicy,
  now: () => number,
  windows: Record<PoolName, PoolWindow>,
  routeOf: () => Route | null,
  onStep: (weight: number) => void,
): RolloutController {
  return new RolloutController({
    clock: { now },
    log: silentLogger,
    records,
    services: [SERVICE],
    metrics: { totals: async (_s, pool, from, to) => windows[pool].totals(from, to) },
    emit: (e) => {
      if (e.kind === 'step') onStep(e.weight ?? 0);
    },
    policyOf: () => policy,
    configHash: () => 'sim',
    routeOf,
    acks: { waitClear: async () => ({ clear: true }) },
    newId: () => 'sim',
    timers: false,
  });
}

/** A client as the data plane names one: a non-negative integer (live, its sticky bucket). */
function clientKey(client: string | number | undefined): number {
  if (client === undefined) return NO_CLIENT;
  if (typeof client === 'number' && Number.isInteger(client) && client >= 0) return client;
  let h = 0x811c9dc5; // FNV-1a
  for (const ch of String(client)) h = Math.imul(h ^ (ch.codePointAt(0) as number), 0x01000193) >>> 0;
  return h;
}

function outcomeOf(phase: string | undefined): SimOutcome | null {
  switch (phase) {
    case 'promoting':
    case 'succeeded':
      return 'succeeded';
    case 'rolling-back':
    case 'rolled-back':
    case 'aborted':
      return 'rolled-back';
    case 'paused':
      return 'paused';
    default:
      return null;
  }
}
