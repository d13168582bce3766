// Every static check `veer start` makes before it binds anything, as one pure-ish function (it reads
// TLS files named by Docker endpoints and by the `tls` section, and this machine's interface list, and
// never touches the network). The loader runs it on the raw tree, so `veer validate` and `veer start` report exactly
// the same problems, all at once, together with the schema's.
import { dockerOptions } from '../docker/endpoint.js';
import { isVeerError, type Problem } from '../domain/errors.js';
import { parseRedisUrl } from '../store/redis-url.js';
import { accessLogProblems } from './access-log-check.js';
import { checkAdminExposure } from './admin-exposure.js';
import { configParts, type ConfigParts } from './config-tree.js';
import { crossChecks } from './cross-checks.js';
import { pageFileProblems } from './page-files.js';
import { routeWarnings } from './route-reach.js';
import { blueGreenStepsWarnings } from './rollout-schema.js';
import { checkAcme } from './acme-check.js';
import { checkTlsFiles } from './tls-check.js';
import { workersProblems } from './workers-check.js';

export interface Preflight {
  /** `veer start` refuses to run with any of these. */
  problems: Problem[];
  /** Valid, but probably not what was meant. */
  warnings: Problem[];
}

function adminExposure(parts: ConfigParts): Problem[] {
  if (parts.admin === null) return [];
  const r = checkAdminExposure(parts.admin.listen.host, parts.admin.token);
  return r.ok ? [] : [...r.error.problems];
}

/** The Redis URL is parsed when the store connects; parsing it here says what is wrong before that. */
function redisUrl(parts: ConfigParts): Problem[] {
  const { store, redis } = parts.state;
  if (store !== 'redis' || typeof redis !== 'string' || redis === '') return [];
  try {
    parseRedisUrl(redis);
    return [];
  } catch (e) {
    if (isVeerError(e)) return [...e.problems];
    throw e;
  }
}

/**
 * Engines are opened at start only when a pool uses Docker or docker.gc is on; otherwise a bad
 * endpoint only breaks `veer prune`, which is worth a warning, not a refusal.
 */
function dockerEndpoints(parts: ConfigParts): Preflight {
  const used = parts.docker.gc || parts.services.some((s) => s.pools.stable.docker !== null);
  const found: Problem[] = [];
  for (const ep of parts.docker.endpoints ?? []) {
    if (ep.config === null) continue;
    const o = dockerOptions(ep.config);
    if (!o.ok)
      found.push({
        path: `docker.endpoints[${ep.index}]`,
        message: used ? o.message : `${o.message} (unused by this config, but \`veer prune\` would fail)`,
      });
  }
  return used ? { problems: found, warnings: [] } : { problems: [], warnings: found };
}

/** Identical problems (a check and the schema agreeing) are reported once. */
export function dedupe(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\n${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** `tree`: the interpolated config as written (before the schema), `localAddresses`: see hostAddresses(). */
export function preflight(tree: unknown, localAddresses: ReadonlySet<string>): Preflight {
  const parts = configParts(tree ?? {});
  const docker = dockerEndpoints(parts);
  const tls = checkTlsFiles(tree, Date.now());
  return {
    problems: dedupe([
      ...crossChecks(parts, localAddresses),
      ...adminExposure(parts),
      ...redisUrl(parts),
      ...docker.problems,
      ...pageFileProblems(tree),
      ...accessLogProblems(tree),
      ...tls.problems,
      ...checkAcme(tree),
      ...workersProblems(tree),
    ]),
    warnings: dedupe([
      ...routeWarnings(parts.services),
      ...blueGreenStepsWarnings((tree as { services?: unknown } | null)?.services),
      ...docker.warnings,
      ...tls.warnings,
    ]),
  };
}
