// Pure: which containers are a service's stable and canary targets, and at which address. The
// watcher (pools.ts) feeds it the engines' current containers and the service's generations; the
// same rules decide what garbage collection may remove (orphans.ts), so routing and GC never disagree.
import { generations, type Generations } from '../domain/generation.js';
import { isTerminal, type RolloutState } from '../domain/rollout.js';
import { pickPools, type Member, type RolloutMark } from '../domain/route.js';
import type { ContainerView } from './port.js';
import { LABEL } from './port.js';

export interface DockerPoolSpec {
  selector: Record<string, string>;
  port: number;
  endpoint?: string | undefined;
  network?: string | undefined;
}

/** A service's Docker side: the stable pool's selector, optionally a user-managed canary selector. */
export interface DockerService {
  name: string;
  stable: DockerPoolSpec;
  canary?: DockerPoolSpec | undefined;
  /** false when the config gives the canary pool static targets: then the watcher leaves it alone. */
  manageCanary: boolean;
}

export interface Members {
  stable: string[];
  /** null: not managed here (static canary targets from the config). */
  canary: string[] | null;
  /** Containers that belong but cannot be reached (no published port, no configured network). */
  problems: string[];
}

export const generationOf = (c: ContainerView): string | null => c.labels[LABEL.rollout] ?? null;

/** compose's label on a `docker-compose run` container (a migration, a shell): "True" there, "False" otherwise. */
export const COMPOSE_ONEOFF = 'com.docker.compose.oneoff';

/**
 * Whether the container is in the pool `spec` selects. A `docker-compose run` one-off carries its service's
 * labels but runs its own command: it is never routed, cloned or removed, unless the selector asks for one-offs.
 */
export function matchesSelector(c: ContainerView, spec: DockerPoolSpec): boolean {
  if (spec.endpoint !== undefined && spec.endpoint !== c.endpoint) return false;
  if (c.labels[COMPOSE_ONEOFF] === 'True' && spec.selector[COMPOSE_ONEOFF] === undefined) return false;
  for (const [k, v] of Object.entries(spec.selector)) if (c.labels[k] !== v) return false;
  return true;
}

/** Created by this installation for this service. */
export function ownedBy(c: ContainerView, service: string, owner: string): boolean {
  return c.labels[LABEL.owner] === owner && c.labels[LABEL.service] === service;
}

/** Running and not known to be unhealthy: a HEALTHCHECK still `starting` is not ready yet either. */
export const serving = (c: ContainerView): boolean => c.running && (c.health === 'healthy' || c.health === 'none');

const hostPort = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/**
 * "host:port" veer reaches the container at: the configured network's address when one is named,
 * else the port published on the host, else (host networking) the engine's host itself.
 */
export function addressOf(c: ContainerView, spec: DockerPoolSpec, publishedHost: string): string | null {
  if (spec.network !== undefined) {
    const ip = c.networks[spec.network];
    return ip ? hostPort(ip, spec.port) : null;
  }
  const binding = c.ports[`${spec.port}/tcp`]?.find((b) => b.hostPort > 0);
  if (binding) {
    const everywhere = binding.hostIp === '' || binding.hostIp === '0.0.0.0' || binding.hostIp === '::';
    return hostPort(everywhere ? publishedHost : binding.hostIp, binding.hostPort);
  }
  if (c.networkMode === 'host') return hostPort(publishedHost, spec.port);
  return null;
}

/**
 * What the watcher records of a service: its serving containers with their role, generation and
 * address (the stable selector's port for the stable side, the canary selector's for user canaries).
 * Which of them are routed where is the routing projection's call (domain/route.ts).
 */
export function observe(
  svc: DockerService,
  containers: readonly ContainerView[],
  owner: string,
  publishedHost: (endpoint: string) => string,
): { members: Member[]; problems: string[] } {
  const problems: string[] = [];
  const out = new Map<string, Member>();
  // A user-managed canary selector may be narrower than the stable one (app=web vs app=web,track=canary).
  const userCanary = (c: ContainerView): boolean =>
    svc.manageCanary && svc.canary !== undefined && matchesSelector(c, svc.canary);
  for (const c of containers) {
    if (!serving(c)) continue;
    const role: Member['role'] | null = ownedBy(c, svc.name, owner)
      ? 'clone'
      : userCanary(c)
        ? 'canary'
        : matchesSelector(c, svc.stable) && !(svc.canary !== undefined && matchesSelector(c, svc.canary))
          ? 'selected'
          : null;
    if (role === null) continue;
    const spec = role === 'canary' ? (svc.canary as DockerPoolSpec) : svc.stable;
    const address = addressOf(c, spec, publishedHost(c.endpoint));
    if (address === null) problems.push(unreachable(c, spec));
    else out.set(`${role}|${address}`, { address, generation: generationOf(c), created: c.created, role });
  }
  const members = [...out.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return { members, problems };
}

const unreachable = (c: ContainerView, spec: DockerPoolSpec): string =>
  `container ${c.name} (${c.endpoint}) ` +
  (spec.network
    ? `has no address on network "${spec.network}"`
    : `publishes no host port for ${spec.port}/tcp and no network is configured`);

/** The pools `observe` gives for the generations `gens` (null canary: static canary targets, not managed here). */
export function members(
  svc: DockerService,
  containers: readonly ContainerView[],
  gens: Generations,
  owner: string,
  publishedHost: (endpoint: string) => string,
): Members {
  const seen = observe(svc, containers, owner, publishedHost);
  const p = pickPools(seen.members, gens);
  return { stable: p.stable, canary: svc.manageCanary ? p.canary : null, problems: seen.problems };
}

/**
 * Started by someone else since the latest image rollout began: routing (domain/route.ts, poolOf) keeps such
 * a container stable whatever its generation, so nothing may retire it or mistake it for a leftover. The
 * rollout's own containers are newer too but are its canary (or, rolled back, rejected), never "since".
 */
export const startedSince = (c: ContainerView, mark: RolloutMark): boolean =>
  c.created > mark.startedAt && generationOf(c) !== mark.rolloutId;

/**
 * The service's generations. The latest image rollout says which generation is stable; without one
 * (no image rollout yet, or its record lost: a memory store restarted, a state file deleted) the
 * running containers do: the generation of the oldest one is stable. Never "the unlabelled ones"
 * blindly - after a promotion that would route nothing and garbage-collect the live pool.
 *
 * Once the rollout is over and none of its stable generation runs any more (compose recreated the
 * containers without veer's label, `down` + `up`), the newest generation the user started since is
 * stable: that is what routing sends traffic to, and what the next rollout clones and replaces.
 */
export function serviceGenerations(
  latest: RolloutState | null,
  containers: readonly ContainerView[],
  svc: DockerService,
  owner: string,
): Generations {
  // What routing could call stable: a user canary (its own selector) never is (observe, route.ts's inferred).
  const userCanary = (c: ContainerView): boolean => svc.canary !== undefined && matchesSelector(c, svc.canary);
  const mine = containers.filter(
    (c) => c.running && (ownedBy(c, svc.name, owner) || (matchesSelector(c, svc.stable) && !userCanary(c))),
  );
  if (latest?.docker) {
    const g = generations(latest);
    if (!isTerminal(latest.phase) || mine.some((c) => generationOf(c) === g.stable)) return g;
    // A rolled-back rollout's canaries whose removal failed are newer than its start, and rejected.
    const since = mine.filter((c) => startedSince(c, { rolloutId: latest.id, startedAt: latest.startedAt }));
    const newest = since.reduce<ContainerView | null>((a, c) => (a === null || c.created > a.created ? c : a), null);
    return newest ? { ...g, stable: generationOf(newest) } : g;
  }
  const oldest = mine.reduce<ContainerView | null>((a, c) => (a === null || c.created < a.created ? c : a), null);
  return { ...generations(null), stable: oldest ? generationOf(oldest) : null };
}
