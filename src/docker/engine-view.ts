// Normalises `docker inspect` answers into veer's plain values. Pure: the engine's JSON has nulls
// where one expects empty maps (Ports of a stopped container, Labels, Cmd), and older engines
// leave fields out, so every field is read defensively here, once.
import type { ContainerInspectInfo, ImageInspectInfo } from 'dockerode';
import type { ContainerHealth, ContainerView, ImageConfig } from './port.js';

/** Enough of a probe's output to explain a failing health check without flooding a reason. */
const HEALTH_OUTPUT_MAX = 500;

// Docker reports a never-started container's StartedAt as Go's zero time.
const ZERO_TIME = '0001-01-01T00:00:00Z';

export function toView(endpoint: string, info: ContainerInspectInfo): ContainerView {
  const state = info.State ?? ({} as Partial<ContainerInspectInfo['State']>);
  const host = info.HostConfig ?? {};
  const running = state.Running === true;
  return {
    endpoint,
    id: info.Id,
    name: (info.Name ?? '').replace(/^\//, ''),
    image: info.Config?.Image ?? info.Image ?? '',
    labels: { ...(info.Config?.Labels ?? {}) },
    running,
    health: healthOf(state.Health?.Status),
    ports: portsOf(info.NetworkSettings?.Ports),
    networks: networksOf(info.NetworkSettings?.Networks),
    networkMode: host.NetworkMode || 'default',
    autoRemove: host.AutoRemove === true,
    restartPolicy: host.RestartPolicy?.Name || 'no',
    healthOutput: healthOutputOf(state.Health?.Log),
    exitCode: running || neverStarted(state) ? null : (state.ExitCode ?? null),
    restarts: {
      count: info.RestartCount ?? 0,
      restarting: state.Restarting === true,
      // Docker sets ExitCode back to 0 when the container starts again: only a stopped or restarting one has it.
      lastExit: (running && state.Restarting !== true) || neverStarted(state) ? null : (state.ExitCode ?? null),
    },
    error: state.Error ?? '',
    created: Date.parse(info.Created) || 0,
  };
}

function healthOf(status: string | undefined): ContainerHealth {
  switch (status) {
    case 'starting':
    case 'healthy':
    case 'unhealthy':
      return status;
    default:
      return 'none';
  }
}

function healthOutputOf(log: Array<{ Output?: string }> | null | undefined): string | null {
  const last = log?.[log.length - 1];
  if (last === undefined || typeof last.Output !== 'string') return null;
  const out = last.Output.trim();
  return out.length > HEALTH_OUTPUT_MAX ? `${out.slice(0, HEALTH_OUTPUT_MAX - 1)}…` : out;
}

type RawPorts = Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null | undefined;

function portsOf(raw: RawPorts): ContainerView['ports'] {
  const ports: ContainerView['ports'] = {};
  for (const [key, bindings] of Object.entries(raw ?? {})) {
    // null: exposed but not published, so not reachable from the host.
    if (!Array.isArray(bindings)) continue;
    const published = bindings
      .map((b) => ({ hostIp: b.HostIp ?? '', hostPort: Number(b.HostPort) }))
      .filter((b) => Number.isInteger(b.hostPort) && b.hostPort > 0);
    if (published.length > 0) ports[key] = published;
  }
  return ports;
}

function networksOf(raw: Record<string, { IPAddress?: string } | null> | null | undefined): Record<string, string> {
  const networks: Record<string, string> = {};
  for (const [name, settings] of Object.entries(raw ?? {})) networks[name] = settings?.IPAddress ?? '';
  return networks;
}

function neverStarted(state: Partial<ContainerInspectInfo['State']>): boolean {
  return state.Status === 'created' || state.StartedAt === undefined || state.StartedAt === ZERO_TIME;
}

export function toImageConfig(info: ImageInspectInfo): ImageConfig {
  const c: Partial<ImageInspectInfo['Config']> & { StopSignal?: string } = info.Config ?? {};
  return {
    id: info.Id,
    env: [...(c.Env ?? [])],
    cmd: argv(c.Cmd),
    entrypoint: argv(c.Entrypoint),
    labels: { ...(c.Labels ?? {}) },
    workingDir: c.WorkingDir ?? '',
    user: c.User ?? '',
    healthcheck: c.Healthcheck ?? null,
    stopSignal: c.StopSignal || null,
    exposedPorts: { ...(c.ExposedPorts ?? {}) },
  };
}

/** Docker stores Cmd/Entrypoint as arrays, but very old images (and the types) allow a plain string. */
function argv(v: string | string[] | null | undefined): string[] | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? [v] : [...v];
}
