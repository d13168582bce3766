// The parts of a raw (interpolated, not yet validated) config tree that the checks spanning several
// fields need, read best-effort: whatever is well-formed is kept, whatever is not is left out (the
// schema reports it). So a duplicate service name is reported even when another field is wrong.
import type { z } from 'zod';
import type { EndpointConfig } from '../docker/endpoint.js';
import { parseTarget, type TargetAddress } from '../domain/target.js';
import { configSchema, serviceSchema } from './schema.js';
import { tlsSchema } from './tls-schema.js';
import type { ListenAddress } from './values.js';

export const POOLS = ['stable', 'canary'] as const;
export type PoolKey = (typeof POOLS)[number];

export interface PoolParts {
  /** The targets that parse, with their index in the list as written. */
  targets: Array<{ index: number; target: TargetAddress }>;
  /** Present when the pool is a Docker selector; `endpoint` as written, null when absent. */
  docker: { endpoint: string | null } | null;
}

export interface ServiceParts {
  index: number;
  name: string | null;
  /** Null when the match section is invalid: routes are only compared when they are known. */
  match: { hosts: string[]; pathPrefix: string } | null;
  pools: Record<PoolKey, PoolParts>;
}

export interface EndpointParts {
  index: number;
  name: string | null;
  /** Null when the entry itself is invalid. */
  config: EndpointConfig | null;
}

export interface ConfigParts {
  listen: ListenAddress | null;
  admin: { listen: ListenAddress; token: string } | null;
  /** The HTTPS listener's address; null without a `tls` section (or when its address is not valid). */
  tlsListen: ListenAddress | null;
  state: { store: unknown; redis: unknown };
  /** `endpoints` is null when the list itself is not a list (nothing can be said about references then). */
  docker: { endpoints: EndpointParts[] | null; gc: boolean };
  services: ServiceParts[];
}

type Tree = Record<string, unknown>;
const asTree = (v: unknown): Tree => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Tree) : {});

/**
 * Parses `value`, leaving out the top-level keys that fail (their defaults apply instead), for
 * sections whose fields are independent of each other. Null when nothing can be salvaged.
 */
export function salvage<S extends z.ZodType>(schema: S, value: unknown): z.output<S> | null {
  let current = value;
  for (let attempt = 0; attempt < 8; attempt++) {
    const r = schema.safeParse(current);
    if (r.success) return r.data;
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return null;
    const bad = new Set<PropertyKey>();
    for (const issue of r.error.issues) {
      if (issue.code === 'unrecognized_keys' && issue.path.length === 0) issue.keys.forEach((k) => bad.add(k));
      else if (issue.path.length > 0) bad.add(issue.path[0] as PropertyKey);
    }
    if (bad.size === 0) return null;
    current = Object.fromEntries(Object.entries(current).filter(([k]) => !bad.has(k)));
  }
  return null;
}

function poolParts(raw: unknown): PoolParts {
  const pool = asTree(raw);
  const targets: PoolParts['targets'] = [];
  if (Array.isArray(pool.targets)) {
    pool.targets.forEach((t, index) => {
      const r = parseTarget(t);
      if (r.ok) targets.push({ index, target: r.target });
    });
  }
  const docker =
    typeof pool.docker === 'object' && pool.docker !== null
      ? { endpoint: typeof asTree(pool.docker).endpoint === 'string' ? (asTree(pool.docker).endpoint as string) : null }
      : null;
  return { targets, docker };
}

function serviceParts(raw: unknown, index: number): ServiceParts {
  const s = asTree(raw);
  const match = serviceSchema.shape.match.safeParse(s.match);
  return {
    index,
    name: typeof s.name === 'string' ? s.name : null,
    match: match.success ? match.data : null,
    pools: { stable: poolParts(s.stable), canary: poolParts(s.canary) },
  };
}

/** An endpoint entry as dockerOptions takes it, or null when a field has the wrong type (the schema says which). */
function endpointConfig(raw: unknown): EndpointConfig | null {
  const e = asTree(raw);
  const optional = (k: string): boolean => e[k] === undefined || typeof e[k] === 'string';
  if (
    typeof e.name !== 'string' ||
    typeof e.host !== 'string' ||
    !['ca', 'cert', 'key', 'identityFile', 'knownHosts', 'hostKeyFingerprint'].every(optional)
  )
    return null;
  return e as unknown as EndpointConfig;
}

function endpointParts(rawDocker: Tree): EndpointParts[] | null {
  // Absent means the schema's default (DOCKER_HOST or the local socket): take it from the schema.
  const raw =
    rawDocker.endpoints === undefined
      ? (configSchema.shape.docker.safeParse({}).data?.endpoints ?? [])
      : rawDocker.endpoints;
  if (!Array.isArray(raw)) return null;
  return raw.map((e: unknown, index) => {
    const name = asTree(e).name;
    return { index, name: typeof name === 'string' ? name : null, config: endpointConfig(e) };
  });
}

export function configParts(tree: unknown): ConfigParts {
  const t = asTree(tree);
  const listen = configSchema.shape.listen.safeParse(t.listen);
  const docker = asTree(t.docker);
  const state = asTree(t.state);
  const tls = t.tls === undefined ? null : tlsSchema.shape.listen.safeParse(asTree(t.tls).listen);
  return {
    listen: listen.success ? listen.data : null,
    admin: salvage(configSchema.shape.admin, t.admin ?? {}),
    tlsListen: tls?.success ? tls.data : null,
    state: { store: state.store ?? 'file', redis: state.redis },
    docker: { endpoints: endpointParts(docker), gc: docker.gc === true },
    services: Array.isArray(t.services) ? t.services.map(serviceParts) : [],
  };
}
