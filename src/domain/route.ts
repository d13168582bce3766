// A service's route - its weight, both pools and what is being drained - is a projection: one pure
// function of persisted inputs, computed the same way on every replica. Nobody stores a route; the
// writers (operators' commands, the leader's rollouts, the leader's Docker watcher) write inputs
// only, so two replicas that read the same inputs route the same way, and a restarted replica
// routes exactly as before.
import { generations, type Generations } from './generation.js';
import { isTerminal, type RolloutState } from './rollout.js';
import { sameTargeting, type TargetingRule } from './targeting.js';
import type { BasisPoints } from './weight.js';

/** What the config says of a service's routing. */
export interface RoutedService {
  name: string;
  /** Static target ids from the config. */
  stable: readonly string[];
  canary: readonly string[];
  weightBp: BasisPoints;
  /** Fingerprint of the config's pool lists: a rollout started under other lists does not override them. */
  configHash: string;
  /** The stable pool comes from Docker; `manageCanary`: so does the canary pool (no static canary targets). */
  docker: { manageCanary: boolean } | null;
}

/** An operator's weight, set when no rollout was active; it holds until a later rollout. */
export interface ManualWeight {
  weightBp: BasisPoints;
  /** The id of the service's latest rollout when it was set (null: there was none). */
  after: string | null;
}

/**
 * One serving container of a Docker-backed service, as the leader's watcher last saw it. `role`:
 * `clone` was created by this veer installation for the service (a rollout's generation); `selected`
 * matches the stable selector; `canary` matches a user-managed canary selector.
 */
export interface Member {
  address: string;
  generation: string | null;
  /** Creation time (epoch ms): the oldest generation is stable when no rollout says otherwise. */
  created: number;
  role: 'selected' | 'clone' | 'canary';
  /**
   * Its engine does not answer: this is the last known membership, kept (and routed like any other)
   * until the engine answers again. Status and metrics report it; routing ignores it. Absent: false.
   */
  stale?: boolean;
}

export interface Route {
  weightBp: BasisPoints;
  stable: string[];
  canary: string[];
  /** A running rollout's retryCanaryOnStable; null: the config's. */
  retryCanaryOnStable: boolean | null;
  /** Targets taken out of routing that a rollout is about to remove: drained, then stopped. */
  draining: string[];
  /** Requests matching any of these go to the canary whatever the weight (none unless a canary is routed). */
  targeting: TargetingRule[];
  /** The rollout whose canary is routed (access lines name it); null: none is. */
  rolloutId: string | null;
}

export interface RouteInputs {
  service: RoutedService;
  manual: ManualWeight | null;
  /** The service's latest rollout, terminal or not. */
  rollout: RolloutState | null;
  /** null until the watcher wrote a first list (Docker-backed services only). */
  members: readonly Member[] | null;
}

export interface Pools {
  stable: string[];
  canary: string[];
  draining: string[];
}

/** Config and rollout lists keep their order (the balancer breaks ties by it); each id once. */
const unique = (ids: Iterable<string>): string[] => [...new Set(ids)];
/** Container addresses have no order of their own: sorted, so every replica lists them alike. */
const sorted = (ids: Iterable<string>): string[] => unique(ids).sort();
const without = (ids: readonly string[], gone: readonly string[]): string[] => ids.filter((id) => !gone.includes(id));

export function routeFor(i: RouteInputs): Route {
  const pools = i.service.docker ? dockerPools(i) : staticPools(i);
  const r = i.rollout;
  const active = r !== null && !isTerminal(r.phase);
  return {
    weightBp: weightOf(i),
    ...pools,
    retryCanaryOnStable: active ? r.policy.retryCanaryOnStable : null,
    targeting: r !== null && routesCanary(i, r) ? (r.policy.targeting ?? []) : [],
    rolloutId: r !== null && routesCanary(i, r) ? r.id : null,
  };
}

/**
 * Whether the rollout's canary gets traffic now: it is ready (progressing, or paused after it was)
 * and the pools are the rollout's (static lists it started under). Its targeting rules hold only
 * then: before the canary is ready there is nothing to target, and once the rollout rolls back,
 * promotes or ends, matching requests follow the normal split.
 */
function routesCanary({ service }: RouteInputs, r: RolloutState): boolean {
  const ready = r.phase === 'progressing' || (r.phase === 'paused' && r.resumeTo !== 'starting');
  const ownPools = service.docker !== null || r.configHash === undefined || r.configHash === service.configHash;
  return ready && ownPools;
}

function weightOf({ service, manual, rollout }: RouteInputs): BasisPoints {
  if (rollout !== null && !isTerminal(rollout.phase)) {
    // Draining the canary, or the canary became the stable pool: nothing goes to a canary pool.
    return rollout.phase === 'rolling-back' || rollout.phase === 'promoting' ? 0 : rollout.weightBp;
  }
  if (manual !== null && manual.after === (rollout?.id ?? null)) return manual.weightBp;
  // A finished rollout leaves the canary pool empty at weight 0, until someone shifts again.
  return rollout !== null ? 0 : service.weightBp;
}

/** Static targets: the config's lists, unless a rollout started under the same lists says otherwise. */
function staticPools({ service, rollout: r }: RouteInputs): Pools {
  const fromConfig = { stable: unique(service.stable), canary: unique(service.canary), draining: [] };
  if (r === null || (r.configHash !== undefined && r.configHash !== service.configHash)) return fromConfig;
  const stable = unique(r.stableTargets);
  const canary = unique(r.canaryTargets);
  switch (r.phase) {
    case 'starting':
    case 'progressing':
    case 'paused':
      return { stable, canary, draining: [] };
    case 'rolling-back':
      return { stable, canary: [], draining: without(canary, stable) };
    case 'rolled-back':
    case 'aborted':
      return { stable, canary: [], draining: [] };
    case 'promoting':
      return { stable: canary, canary: [], draining: without(stable, canary) };
    case 'succeeded':
      return { stable: canary, canary: [], draining: [] };
  }
}

/** Docker-backed: the generations the latest rollout names, over the containers the watcher saw. */
function dockerPools({ service, rollout, members }: RouteInputs): Pools {
  const all = members ?? [];
  const p = rollout?.docker
    ? pickPools(all, generations(rollout), { rolloutId: rollout.id, startedAt: rollout.startedAt })
    : pickPools(all, inferred(all));
  return service.docker?.manageCanary ? p : { ...p, canary: unique(service.canary) };
}

/** The latest image rollout: what is newer than it was started by someone else. */
export interface RolloutMark {
  rolloutId: string;
  /** When the rollout started (epoch ms). */
  startedAt: number;
}

/**
 * Which members are routed where for the given generations. Clones carry the stable selector's
 * labels; only their generation tells them apart. A user-managed canary selector's containers are
 * the canary when veer did not make them.
 *
 * With `mark` (an image rollout is on record), containers the selector finds that were created after
 * that rollout started and that it does not claim are stable too: they are what the user started
 * since (compose `up -d` with the new image, `down` + `up`, `scale`, `docker run`), and compose
 * recreates containers without veer's generation label. Older containers of other generations are
 * leftovers and get no traffic. (Creation times are the engine's clock; the rollout's start is
 * veer's. A skew of seconds matters only for containers created within seconds of a rollout start.)
 */
export function pickPools(all: readonly Member[], gens: Generations, mark?: RolloutMark): Pools {
  const stable: string[] = [];
  const canary: string[] = [];
  const draining: string[] = [];
  for (const m of all) {
    const pool = poolOf(m, gens, mark);
    if (pool === 'stable') stable.push(m.address);
    else if (pool === 'canary') canary.push(m.address);
    else if (pool === 'draining') draining.push(m.address);
  }
  const s = sorted(stable);
  return { stable: s, canary: sorted(canary), draining: without(sorted(draining), s) };
}

function poolOf(m: Member, gens: Generations, mark: RolloutMark | undefined): 'stable' | 'canary' | 'draining' | null {
  if (m.role === 'canary') return m.generation === null ? 'canary' : null;
  if (gens.hasCanary && m.role === 'clone' && m.generation === gens.canary) return 'canary';
  const newer = mark !== undefined && m.created > mark.startedAt;
  // The generation being removed is what existed before the rollout (or the rollout's own clones on
  // a rollback); a container of the same (unlabelled) generation started since is the user's.
  if (gens.hasRetiring && m.generation === gens.retiring && !(newer && m.generation !== mark?.rolloutId))
    return 'draining';
  if (m.generation === gens.stable) return 'stable';
  return newer && m.generation !== mark?.rolloutId ? 'stable' : null;
}

/**
 * No image rollout on record (none yet, or its record was lost): the oldest running generation is
 * stable - never "the unlabelled containers" blindly, which after a promotion would route nothing.
 */
function inferred(members: readonly Member[]): Generations {
  const mine = members.filter((m) => m.role !== 'canary');
  const oldest = mine.reduce<Member | null>((a, m) => (a === null || m.created < a.created ? m : a), null);
  return { ...generations(null), stable: oldest ? oldest.generation : null };
}

/** Whether two routes send traffic the same way. */
export function sameRoute(a: Route, b: Route): boolean {
  const eq = (x: readonly string[], y: readonly string[]): boolean =>
    x.length === y.length && x.every((v, k) => v === y[k]);
  return (
    a.weightBp === b.weightBp &&
    a.retryCanaryOnStable === b.retryCanaryOnStable &&
    a.rolloutId === b.rolloutId &&
    eq(a.stable, b.stable) &&
    eq(a.canary, b.canary) &&
    eq(a.draining, b.draining) &&
    sameTargeting(a.targeting, b.targeting)
  );
}
