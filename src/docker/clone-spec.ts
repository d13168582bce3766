// The clone spec: how a canary container is made from a stable one. Pure (no I/O), so every rule of
// the contract is unit-tested on plain `docker inspect` values.
//
// The guiding question for each field: did the operator choose this value for the stable container,
// or did it merely come from the stable container's image? Docker copies the image's config into the
// container's, so a naive copy of the container would pin the OLD image's defaults onto the new
// release (a release that changes a baked-in ENV or its CMD would silently not take effect). So a
// value equal to the old image's is left to the new image; a value that differs is an operator's
// override (`docker run -e`, compose `command:`/`healthcheck:`) and is kept.
import type { ContainerCreateOptions, ContainerInspectInfo, EndpointSettings, HostConfig } from 'dockerode';
import { err, ok, type Result } from '../domain/errors.js';
import type { CloneTemplate, CreateSpec, ImageConfig } from './port.js';

export interface CloneRequest {
  image: string;
  name: string;
  /** "K=V" entries from the rollout request; they win over everything. */
  env: string[];
  /** veer's own labels (veer.service, veer.rollout, veer.owner); they win over everything. */
  labels: Record<string, string>;
}

/** Fields inspect returns at runtime that the dockerode types leave out. */
type ContainerConfig = ContainerInspectInfo['Config'] & { StopSignal?: string; StopTimeout?: number };
type NetworkEntry = ContainerInspectInfo['NetworkSettings']['Networks'][string];

export function cloneSpec(t: CloneTemplate, req: CloneRequest): Result<CreateSpec, string> {
  const config = t.container.Config as ContainerConfig;
  const env = mergeEnv(t, req.env);
  if (!env.ok) return env;
  const host = cloneHostConfig(t.container.HostConfig);
  if (!host.ok) return host;
  const net = networking(t.container, host.value.NetworkMode ?? 'default');
  const options: CreateSpec['options'] = {
    name: req.name,
    Image: req.image,
    Env: env.value,
    Labels: cloneLabels(t, config, req.labels),
    ExposedPorts: { ...t.newImage.exposedPorts, ...(config.ExposedPorts ?? {}) },
    ...overrides(config, t.oldImage),
    // Interactive settings and the stop grace are how the container is run, not what the image is.
    // Never Hostname (each clone gets its own, else every replica claims the stable's name), never
    // the container's Image (the point is the new one), never Volumes (the image declares its own
    // anonymous volumes; the container's list would resurrect the old image's).
    Tty: config.Tty ?? false,
    OpenStdin: config.OpenStdin ?? false,
    StdinOnce: config.StdinOnce ?? false,
    Domainname: config.Domainname ?? '',
    ...(config.StopTimeout !== undefined ? { StopTimeout: config.StopTimeout } : {}),
    HostConfig: host.value,
    ...(net.primary ? { NetworkingConfig: { EndpointsConfig: net.primary } } : {}),
  };
  return ok({ options, extraNetworks: net.extra });
}

// ---- env and labels ---------------------------------------------------------------------------

function envKey(entry: string): string {
  const i = entry.indexOf('=');
  return i < 0 ? entry : entry.slice(0, i);
}

/**
 * New image's ENV, then what the operator set on the stable container, then the request; later wins
 * per key but keeps the key's first position (a Map keeps insertion order on overwrite), so the
 * result reads like the image's ENV with the operator's additions appended.
 */
function mergeEnv(t: CloneTemplate, reqEnv: string[]): Result<string[], string> {
  for (const entry of reqEnv) {
    // An entry without "=" would mean "inherit from the client's environment" to the docker CLI;
    // the engine API has no such client, so it is a mistake in the request, not something to guess.
    if (entry.indexOf('=') <= 0) return err(`invalid env entry '${entry}': expected KEY=VALUE with a non-empty KEY`);
  }
  const merged = new Map<string, string>();
  const put = (entries: readonly string[]): void => {
    for (const entry of entries) merged.set(envKey(entry), entry);
  };
  put(t.newImage.env);
  put(userSetEnv(t.container.Config.Env ?? [], t.oldImage));
  put(reqEnv);
  return ok([...merged.values()]);
}

/** The container's env entries that did not come from its image. */
function userSetEnv(containerEnv: readonly string[], oldImage: ImageConfig | null): string[] {
  // Without the old image we cannot tell defaults from overrides, so we keep everything - losing an
  // operator's secret or setting is worse than pinning an old default. Except PATH: every image
  // bakes one, it describes the image's own filesystem layout, and the old one can break the new.
  if (oldImage === null) return containerEnv.filter((entry) => envKey(entry) !== 'PATH');
  const baked = new Map(oldImage.env.map((entry) => [envKey(entry), entry] as const));
  return containerEnv.filter((entry) => baked.get(envKey(entry)) !== entry);
}

/**
 * Not copied. Compose's record of the stable's config: without a config hash (v1, v2) or image digest
 * (v2) a clone is "diverged", so `up -d` recreates it from the file. The project, service, oneoff and
 * container-number labels stay: compose lists by them, and v1 needs a number. And `veer.pool`, which
 * veer once wrote on clones: a promoted clone's says canary.
 */
const NOT_CLONED = ['com.docker.compose.config-hash', 'com.docker.compose.image', 'veer.pool'];

/** The new image's labels, the operator's (the stable's beyond its image's), then veer's own. */
function cloneLabels(t: CloneTemplate, config: ContainerConfig, own: Record<string, string>): Record<string, string> {
  const labels = userSet(t.newImage.labels, config.Labels, t.oldImage?.labels ?? null);
  for (const key of NOT_CLONED) delete labels[key];
  return { ...labels, ...own };
}

/** `base`, then the entries of `current` that differ from (or are absent in) `baseline`. */
function userSet(
  base: Record<string, string>,
  current: Record<string, string> | null | undefined,
  baseline: Record<string, string> | null,
): Record<string, string> {
  const out = { ...base };
  for (const [key, value] of Object.entries(current ?? {})) {
    if (baseline === null || baseline[key] !== value) out[key] = value;
  }
  return out;
}

// ---- command, user, healthcheck … -------------------------------------------------------------

type Overrides = Pick<
  ContainerCreateOptions,
  'Cmd' | 'Entrypoint' | 'WorkingDir' | 'User' | 'Healthcheck' | 'StopSignal'
>;

/**
 * The run settings the operator overrode. A value equal to the old image's is left unset so the new
 * image's own applies (e.g. a release that changes its CMD or HEALTHCHECK). Empty/null values are
 * never set: the create API reads them as "use the image's", which is what they meant on the stable.
 */
function overrides(config: ContainerConfig, oldImage: ImageConfig | null): Overrides {
  const out: Overrides = {};
  const keep = <T>(current: T | null, baked: T | null | undefined): T | undefined =>
    current === null || current === '' || (oldImage !== null && sameValue(current, baked)) ? undefined : current;
  const cmd = keep(argv(config.Cmd), oldImage?.cmd);
  const entrypoint = keep(argv(config.Entrypoint), oldImage?.entrypoint);
  const workingDir = keep(config.WorkingDir ?? null, oldImage?.workingDir);
  const user = keep(config.User ?? null, oldImage?.user);
  const healthcheck = keep(config.Healthcheck ?? null, oldImage?.healthcheck);
  const stopSignal = keep(config.StopSignal || null, oldImage?.stopSignal);
  if (cmd !== undefined) out.Cmd = cmd;
  if (entrypoint !== undefined) out.Entrypoint = entrypoint;
  if (workingDir !== undefined) out.WorkingDir = workingDir;
  if (user !== undefined) out.User = user;
  if (healthcheck !== undefined) out.Healthcheck = healthcheck;
  if (stopSignal !== undefined) out.StopSignal = stopSignal;
  return out;
}

/** Docker stores Cmd/Entrypoint as arrays, but old images (and the types) allow a plain string. */
function argv(v: string | string[] | null | undefined): string[] | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? [v] : [...v];
}

/** Deep equality of JSON values; absent and undefined object keys are the same. */
function sameValue(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  return JSON.stringify(v ?? null, (_key, value: unknown) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) sorted[k] = (value as Record<string, unknown>)[k];
    return sorted;
  });
}

// ---- host config and networks -----------------------------------------------------------------

/** The stable's HostConfig whole (mounts, restart policy, limits, …), minus what must not be shared. */
function cloneHostConfig(source: HostConfig): Result<HostConfig, string> {
  const mode = source.NetworkMode ?? 'default';
  // Joining another container's namespace ties the clone's life and ports to that container; two
  // clones of it would also fight over the same ports. Refuse rather than create something broken.
  if (mode.startsWith('container:'))
    return err(`network mode '${mode}' cannot be cloned: a clone cannot share another container's network namespace`);
  // On the host's network a clone would bind the stable container's ports (EADDRINUSE) and share its address.
  if (mode === 'host')
    return err(
      "network mode 'host' cannot be cloned: a clone would bind the stable container's ports; " +
        'run the service on a bridge or user network with published ports',
    );
  const host: HostConfig = structuredClone(source);
  // The stable holds its fixed host port; a clone asking for the same one fails to start. Keep the
  // interface (127.0.0.1 stays private) and let the engine pick the port.
  const bindings = (source.PortBindings ?? null) as Record<string, Array<{ HostIp?: string }> | null> | null;
  if (bindings) {
    host.PortBindings = Object.fromEntries(
      Object.entries(bindings).map(([port, list]) => [
        port,
        (list ?? []).map((b) => ({ HostIp: b.HostIp ?? '', HostPort: '' })),
      ]),
    );
  }
  // Two containers writing their id to one file would overwrite each other (and the CLI refuses an existing file).
  delete host.ContainerIDFile;
  return ok(host);
}

interface Networking {
  primary: Record<string, EndpointSettings> | null;
  extra: CreateSpec['extraNetworks'];
}

/**
 * API 1.41 attaches one network at create, so the network of NetworkMode goes there and the rest are
 * connected before start. Only aliases are carried: IPAMConfig (a fixed IP), MAC address and
 * endpoint ids belong to the stable's endpoint and would clash.
 */
function networking(container: ContainerInspectInfo, mode: string): Networking {
  if (mode === 'host' || mode === 'none') return { primary: null, extra: [] };
  const primaryName = mode === 'default' || mode === 'bridge' ? 'bridge' : mode;
  const networks = container.NetworkSettings?.Networks ?? {};
  const named = Object.entries(networks);
  const found =
    named.find(([name]) => name === primaryName) ?? named.find(([, n]) => idMatches(n.NetworkID, primaryName));
  const primaryAliases = found ? aliasesOf(found[1], container, found[0]) : [];
  const extra = named
    .filter(([name]) => name !== found?.[0])
    .map(([name, n]) => ({ name, aliases: aliasesOf(n, container, name) }));
  return { primary: { [primaryName]: primaryAliases.length > 0 ? { Aliases: primaryAliases } : {} }, extra };
}

/** NetworkMode may name the network by (a prefix of) its id rather than its name. */
function idMatches(networkId: string | undefined, ref: string): boolean {
  return ref.length >= 12 && typeof networkId === 'string' && networkId.startsWith(ref);
}

/**
 * The stable's aliases minus those that name the stable itself: its id (Docker adds the 12-char short
 * id), its hostname and its container name. Those must keep resolving to that one container only.
 * The default bridge takes no aliases at all (the engine rejects them there).
 */
function aliasesOf(n: NetworkEntry, container: ContainerInspectInfo, network: string): string[] {
  if (network === 'bridge') return [];
  const own = new Set(
    [container.Config?.Hostname ?? '', container.Name?.replace(/^\//, '') ?? ''].filter((s) => s !== ''),
  );
  const aliases: unknown = n.Aliases;
  if (!Array.isArray(aliases)) return [];
  return aliases.filter(
    (a): a is string =>
      typeof a === 'string' && a !== '' && !own.has(a) && !(a.length >= 12 && container.Id.startsWith(a)),
  );
}
