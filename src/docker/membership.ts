// Pure: which containers are a service's stable and canary targets, and at which address. The
// watcher (pools.ts) feeds it the engines' current containers and the service's generations; the
// same rules decide what garbage collection may remove (orphans.ts), so routing and GC never disagree.
import { generations, type Generations } from '../domain/generation.js';
import type { RolloutState } from '../domain/rollout.js';
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

export function matchesSelector(c: ContainerView, spec: DockerPoolSpec): boolean {
  if (spec.endpoint !== undefined && spec.endpoint !== c.endpoint) return false;
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

/** Whether a container is in the generation `gen`, where null names the unlabelled containers. */
const inGeneration = (c: ContainerView, gen: string | null): boolean => generationOf(c) === gen;

export function members(
  svc: DockerService,
  containers: readonly ContainerView[],
  gens: Generations,
  owner: string,
  publishedHost: (endpoint: string) => string,
): Members {
  const problems: string[] = [];
  const collect = (pick: (c: ContainerView) => boolean, spec: DockerPoolSpec): string[] => {
    const out = new Set<string>();
    for (const c of containers) {
      if (!pick(c) || !serving(c)) continue;
      const addr = addressOf(c, spec, publishedHost(c.endpoint));
      if (addr === null)
        problems.push(
          `container ${c.name} (${c.endpoint}) ${spec.network ? `has no address on network "${spec.network}"` : `publishes no host port for ${spec.port}/tcp and no network is configured`}`,
        );
      else out.add(addr);
    }
    return [...out].sort();
  };
  // A user-managed canary selector may be narrower than the stable one (app=web vs app=web,track=canary).
  const userCanary = (c: ContainerView): boolean => svc.canary !== undefined && matchesSelector(c, svc.canary);
  const belongs = (c: ContainerView): boolean =>
    (matchesSelector(c, svc.stable) && !userCanary(c)) || ownedBy(c, svc.name, owner);
  const stable = collect((c) => belongs(c) && inGeneration(c, gens.stable), svc.stable);
  let canary: string[] | null = null;
  if (svc.manageCanary) {
    // Clones carry the stable selector's labels; only their generation tells them apart.
    const ofRollout = gens.hasCanary
      ? collect((c) => ownedBy(c, svc.name, owner) && inGeneration(c, gens.canary), svc.stable)
      : [];
    const selected = svc.canary ? collect((c) => userCanary(c) && generationOf(c) === null, svc.canary) : [];
    canary = [...new Set([...ofRollout, ...selected])].sort();
  }
  return { stable, canary, problems };
}

/**
 * The service's generations. The latest image rollout says which generation is stable; without one
 * (no image rollout yet, or its record lost: a memory store restarted, a state file deleted) the
 * running containers do: the generation of the oldest one is stable. Never "the unlabelled ones"
 * blindly - after a promotion that would route nothing and garbage-collect the live pool.
 */
export function serviceGenerations(
  latest: RolloutState | null,
  containers: readonly ContainerView[],
  svc: DockerService,
  owner: string,
): Generations {
  if (latest?.docker) return generations(latest);
  const mine = containers.filter((c) => c.running && (matchesSelector(c, svc.stable) || ownedBy(c, svc.name, owner)));
  const oldest = mine.reduce<ContainerView | null>((a, c) => (a === null || c.created < a.created ? c : a), null);
  return { ...generations(null), stable: oldest ? generationOf(oldest) : null };
}
