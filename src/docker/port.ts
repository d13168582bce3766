// The ContainerDriver port: what veer needs of one Docker engine, in veer's own terms. The dockerode
// adapter (engine.ts) is the only implementation; pure code (membership, clone spec, GC) works on
// these plain values, so it is unit-tested without an engine.
import type { ContainerCreateOptions, ContainerInspectInfo } from 'dockerode';

export type ContainerHealth = 'none' | 'starting' | 'healthy' | 'unhealthy';

/** One container as veer sees it (normalised from `docker inspect`). */
export interface ContainerView {
  /** Name of the endpoint (docker.endpoints[].name) the container lives on. */
  endpoint: string;
  id: string;
  /** Without the leading "/". */
  name: string;
  image: string;
  labels: Record<string, string>;
  running: boolean;
  health: ContainerHealth;
  /** Published ports: "8080/tcp" → host bindings (hostIp "" or "0.0.0.0" means every interface). */
  ports: Record<string, Array<{ hostIp: string; hostPort: number }>>;
  /** Network name → the container's IP address on it ("" when it has none). */
  networks: Record<string, string>;
  /** HostConfig.NetworkMode ("default", "bridge", "host", a network name, "container:…"). */
  networkMode: string;
  autoRemove: boolean;
  restartPolicy: string;
  /** Output of the latest health probe, trimmed (null without a HEALTHCHECK or before the first). */
  healthOutput: string | null;
  /** Exit code once it has stopped (null while running or never started). */
  exitCode: number | null;
  /**
   * What its restart policy did: RestartCount, State.Restarting, and the exit that made it restart (null when
   * unknown: Docker forgets it once the container runs again; a crash loop looks running between two exits).
   */
  restarts: { count: number; restarting: boolean; lastExit: number | null };
  /** State.Error, e.g. why it could not start ('' when none). */
  error: string;
  /** When the container was created (ms since the epoch; 0 when unknown). */
  created: number;
}

/** The parts of an image's config a clone is computed from. */
export interface ImageConfig {
  id: string;
  env: string[];
  cmd: string[] | null;
  entrypoint: string[] | null;
  labels: Record<string, string>;
  workingDir: string;
  user: string;
  healthcheck: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number } | null;
  stopSignal: string | null;
  exposedPorts: Record<string, object>;
}

/** Everything a clone of a stable container is made from. */
export interface CloneTemplate {
  container: ContainerInspectInfo;
  /** The stable container's image; null when that image is no longer on the engine. */
  oldImage: ImageConfig | null;
  newImage: ImageConfig;
}

/** What to create: create options plus networks to connect before start (API < 1.44 takes one at create). */
export interface CreateSpec {
  options: ContainerCreateOptions & { name: string };
  extraNetworks: Array<{ name: string; aliases: string[] }>;
}

/** What the event stream reports. `changed`: inspect the container again (it may be gone). */
export type EngineEvent =
  | { type: 'changed'; id: string; action: string }
  /** The stream (re)connected: re-list, events may have been missed. */
  | { type: 'up' }
  | { type: 'down'; error: string };

export type RetireResult = 'removed' | 'gone';

export interface ContainerDriver {
  readonly endpoint: string;
  /** Host to reach ports published on every interface (127.0.0.1 for a local socket, else the engine's host). */
  readonly publishedHost: string;
  /** Containers whose labels include every given label (`all`: also stopped ones). */
  list(opts: { all: boolean; labels?: Record<string, string> }): Promise<ContainerView[]>;
  /** null when there is no such container. */
  inspect(id: string): Promise<ContainerView | null>;
  /** The stable container and both images' configs (pulls the new image when it is missing). */
  template(containerId: string, image: string): Promise<CloneTemplate>;
  /** The container's whole env ("K=V", image defaults included); null when there is no such container. */
  envOf(id: string): Promise<string[] | null>;
  /** Whether the engine has the image (never pulls). */
  hasImage(ref: string): Promise<boolean>;
  /** Creates (or finds, by name) and starts a container. Idempotent. */
  run(spec: CreateSpec): Promise<ContainerView>;
  /**
   * Restart policy "no", stop (grace `stopTimeoutS`, else the container's own), remove. Idempotent.
   * `volumes`: also its anonymous volumes (veer's own clones; a user's container keeps them).
   */
  retire(id: string, opts: { stopTimeoutS: number | null; volumes?: boolean }): Promise<RetireResult>;
  /** The last lines a container wrote (for reasons); '' when unavailable. */
  logs(id: string, tail: number): Promise<string>;
  /** Follows the engine's container events; reconnects by itself until the returned stop is called. */
  watch(listener: (e: EngineEvent) => void): () => void;
  close(): void;
}

/**
 * Labels veer puts on the containers it creates (part of the public contract: other programs select on
 * them). No pool label: labels cannot change on a running container, and a canary that is promoted
 * becomes stable; its pool follows from `veer.rollout` and the service's latest rollout.
 */
export const LABEL = {
  service: 'veer.service',
  rollout: 'veer.rollout',
  owner: 'veer.owner',
} as const;
