// What a reload changes, decided from the running config and the new file alone. What can change
// while connections stay open is taken from the new file; what only a restart can apply (the state
// store, Docker engines, the process-wide proxy settings, the admin listener, a service's Docker
// pools) is kept as it runs and named, so the operator knows the file and the process now differ.
import { isDeepStrictEqual } from 'node:util';
import type { Config, ServiceConfig } from '../config/schema.js';

export interface ReloadPlan {
  /** The config to run from now on: the new file, except what needs a restart. */
  config: Config;
  added: string[];
  removed: string[];
  changed: string[];
  /** Config paths whose new value was not applied ("needs a restart"). */
  restart: string[];
  /** The data plane's listener moves to a new address. */
  rebind: boolean;
  token: boolean;
  webhooks: boolean;
  /** The `accessLog` section changed (applied live). */
  accessLog: boolean;
}

/** Top-level sections only a restart applies (they are built once, at start). */
const RESTART_SECTIONS = ['state', 'docker', 'proxy', 'reload', 'workers'] as const;

const usesDocker = (s: ServiceConfig): boolean => s.stable.docker !== undefined;
const dockerPools = (s: ServiceConfig): unknown => [s.stable.docker, s.canary.docker];

/**
 * The Docker watcher follows the selectors it started with: a service whose Docker pools appear or
 * change keeps running as it is until a restart. Removing one is applied (its rollout is aborted,
 * and the leader removes the canary's containers as in any abort).
 */
function dockerBound(old: ServiceConfig | undefined, next: ServiceConfig | undefined): boolean {
  if (old === undefined) return next !== undefined && usesDocker(next);
  if (next === undefined) return false;
  return !isDeepStrictEqual(dockerPools(old), dockerPools(next));
}

function services(
  old: Config,
  next: Config,
): Pick<ReloadPlan, 'added' | 'removed' | 'changed' | 'restart'> & {
  list: ServiceConfig[];
} {
  const before = new Map(old.services.map((s) => [s.name, s]));
  const after = new Map(next.services.map((s) => [s.name, s]));
  const restart: string[] = [];
  const list: ServiceConfig[] = [];
  const out = { added: [] as string[], removed: [] as string[], changed: [] as string[] };
  for (const name of new Set([...before.keys(), ...after.keys()])) {
    const o = before.get(name);
    const n = after.get(name);
    if (dockerBound(o, n)) {
      restart.push(`services[${name}].stable.docker`);
      if (o !== undefined) list.push(o);
      continue;
    }
    if (n === undefined) out.removed.push(name);
    else {
      list.push(n);
      if (o === undefined) out.added.push(name);
      else if (!isDeepStrictEqual(o, n)) out.changed.push(name);
    }
  }
  return { ...out, restart, list };
}

export function planReload(old: Config, next: Config): ReloadPlan {
  const s = services(old, next);
  const restart = [...RESTART_SECTIONS.filter((k) => !isDeepStrictEqual(old[k], next[k])), ...s.restart];
  if (!isDeepStrictEqual(old.admin.listen, next.admin.listen)) restart.push('admin.listen');
  if (!isDeepStrictEqual(old.admin.ui, next.admin.ui)) restart.push('admin.ui');
  // The HTTPS listener is built once: only its certificates change live (tls-front.ts).
  const { certificates: _c, defaultCertificate: _d, ...oldTls } = old.tls ?? {};
  const { certificates: _n, defaultCertificate: _m, ...nextTls } = next.tls ?? {};
  const tlsLive = (old.tls === undefined) === (next.tls === undefined) && isDeepStrictEqual(oldTls, nextTls);
  if (!tlsLive) restart.push('tls');
  const config: Config = {
    ...next,
    ...(tlsLive ? {} : { tls: old.tls }),
    state: old.state,
    docker: old.docker,
    proxy: old.proxy,
    workers: old.workers,
    admin: { ...next.admin, listen: old.admin.listen, ui: old.admin.ui },
    services: s.list,
  };
  return {
    config,
    added: s.added,
    removed: s.removed,
    changed: s.changed,
    restart,
    rebind: !isDeepStrictEqual(old.listen, next.listen),
    token: old.admin.token !== next.admin.token,
    webhooks: !isDeepStrictEqual(old.notifications, next.notifications),
    accessLog: !isDeepStrictEqual(old.accessLog, next.accessLog),
  };
}
