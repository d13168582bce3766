// The dockerode adapter: one Docker engine (endpoint) as a ContainerDriver. Every engine call is
// bounded, every container operation is idempotent (the engine's 304/404/409 answers for "already
// done" are outcomes, not failures), and every error names the endpoint.
import { setTimeout as delay } from 'node:timers/promises';
import type Docker from 'dockerode';
import type { Clock } from '../domain/clock.js';
import { errorMessage } from '../domain/errors.js';
import { lazyPackage } from '../lazy-package.js';
import { silentLogger, type Logger } from '../domain/log.js';
import { boundedCalls, type EngineCall } from './engine-call.js';
import {
  EngineErrors,
  beingRemoved,
  describeAddress,
  engineMessage,
  isNotFound,
  statusOf,
  stoppedUnderUs,
} from './engine-errors.js';
import { EventWatch } from './engine-events.js';
import { EngineImages } from './engine-images.js';
import { asBuffer, demuxLogs } from './engine-logs.js';
import { toView } from './engine-view.js';
import type { CloneTemplate, ContainerDriver, ContainerView, CreateSpec, EngineEvent, RetireResult } from './port.js';

const dockerode = lazyPackage<typeof Docker>('dockerode');

const CALL_MS = 15_000;
/** Added to the stop grace: the engine answers only once the container is down (or killed). */
const STOP_SLACK_MS = 15_000;
const REMOVAL_WAIT_MS = 10_000;
const REMOVAL_POLL_MS = 100;
/** Docker's own default when a container sets no StopTimeout. */
const DEFAULT_STOP_S = 10;

const short = (id: string): string => (/^[0-9a-f]{64}$/.test(id) ? id.slice(0, 12) : id);

export class DockerEngine implements ContainerDriver {
  private readonly docker: Docker;
  private readonly errors: EngineErrors;
  private readonly call: EngineCall;
  private readonly images: EngineImages;
  private readonly log: Logger;
  private readonly watches = new Set<() => void>();

  constructor(
    readonly endpoint: string,
    options: Docker.DockerOptions,
    readonly publishedHost: string,
    private readonly deps: { log?: Logger; clock?: Clock } = {},
  ) {
    this.docker = new (dockerode())(options);
    this.errors = new EngineErrors(endpoint, describeAddress(options));
    this.call = boundedCalls(this.errors);
    this.log = deps.log ?? silentLogger;
    this.images = new EngineImages(this.docker, this.call, this.errors, endpoint, this.log);
  }

  async list(opts: { all: boolean; labels?: Record<string, string> }): Promise<ContainerView[]> {
    const label = Object.entries(opts.labels ?? {}).map(([k, v]) => `${k}=${v}`);
    const summaries = await this.call('list containers', CALL_MS, (abortSignal) =>
      this.docker.listContainers({ all: opts.all, ...(label.length > 0 ? { filters: { label } } : {}), abortSignal }),
    ).catch((e: unknown) => Promise.reject(this.errors.map(e, 'list containers')));
    // A container may vanish (or stop) between the list and its inspect.
    const infos = await Promise.all(summaries.map((s) => this.inspectRaw(s.Id)));
    return infos
      .filter((i): i is Docker.ContainerInspectInfo => i !== null && (opts.all || i.State.Running))
      .map((i) => toView(this.endpoint, i));
  }

  async inspect(id: string): Promise<ContainerView | null> {
    const info = await this.inspectRaw(id);
    return info === null ? null : toView(this.endpoint, info);
  }

  async template(containerId: string, image: string): Promise<CloneTemplate> {
    const container = await this.inspectRaw(containerId);
    if (container === null) throw this.errors.plain(`no such container ${short(containerId)}`, 404);
    const oldImage = await this.images.inspect(container.Image);
    const newImage = await this.images.ensure(image);
    return { container, oldImage, newImage };
  }

  async envOf(id: string): Promise<string[] | null> {
    const info = await this.inspectRaw(id);
    return info === null ? null : [...(info.Config?.Env ?? [])];
  }

  async hasImage(ref: string): Promise<boolean> {
    return (await this.images.inspect(ref)) !== null;
  }

  async run(spec: CreateSpec): Promise<ContainerView> {
    const id = await this.createOrFind(spec.options);
    for (const net of spec.extraNetworks) await this.connectNetwork(id, net);
    try {
      await this.call(`start container ${spec.options.name}`, CALL_MS, (abortSignal) =>
        this.docker.getContainer(id).start({ abortSignal }),
      );
    } catch (e) {
      if (statusOf(e) !== 304) throw this.errors.map(e, `start container ${spec.options.name}`);
    }
    const view = await this.inspect(id);
    if (view === null)
      throw this.errors.plain(`container ${spec.options.name} vanished right after it was started`, 404);
    return view;
  }

  async retire(id: string, opts: { stopTimeoutS: number | null; volumes?: boolean }): Promise<RetireResult> {
    const info = await this.inspectRaw(id);
    if (info === null) return 'gone';
    const c = this.docker.getContainer(info.Id);
    // First, so `restart: always` cannot bring it back once stopped (not even across a daemon restart).
    // "Marked for removal" (409, or 500 on Engine 20.10) means AutoRemove got there first: go on.
    const noRestart = { RestartPolicy: { Name: 'no', MaximumRetryCount: 0 } };
    const updateDone = (e: unknown): boolean => beingRemoved(e) || stoppedUnderUs(e);
    if (
      (await this.tolerate(`update container ${short(id)}`, CALL_MS, updateDone, (s) =>
        c.update({ ...noRestart, abortSignal: s }),
      )) === 'gone'
    )
      return 'gone';
    const ownGrace = (info.Config as { StopTimeout?: number }).StopTimeout ?? DEFAULT_STOP_S;
    const graceS = opts.stopTimeoutS ?? ownGrace;
    const t = opts.stopTimeoutS === null ? {} : { t: opts.stopTimeoutS };
    const stopped = (e: unknown): boolean => statusOf(e) === 304 || beingRemoved(e);
    if (
      (await this.tolerate(`stop container ${short(id)}`, graceS * 1000 + STOP_SLACK_MS, stopped, (s) =>
        c.stop({ ...t, abortSignal: s }),
      )) === 'gone'
    ) {
      return 'gone';
    }
    try {
      await this.call(`remove container ${short(id)}`, CALL_MS, (abortSignal) =>
        c.remove({ v: opts.volumes === true, force: false, abortSignal }),
      );
      return 'removed';
    } catch (e) {
      if (isNotFound(e)) return 'gone';
      // AutoRemove: the engine started removing it when it stopped.
      if (beingRemoved(e)) return this.awaitRemoval(info.Id);
      throw this.errors.map(e, `remove container ${short(id)}`);
    }
  }

  async logs(id: string, tail: number): Promise<string> {
    try {
      const info = await this.inspectRaw(id);
      if (info === null) return '';
      const body: unknown = await this.call(`logs of container ${short(id)}`, CALL_MS, (abortSignal) =>
        this.docker.getContainer(info.Id).logs({ stdout: true, stderr: true, tail, follow: false, abortSignal }),
      );
      const raw = asBuffer(body);
      return (info.Config.Tty ? raw : demuxLogs(raw)).toString('utf8');
    } catch (e) {
      this.log.log('debug', 'docker: logs unavailable', { endpoint: this.endpoint, id, error: errorMessage(e) });
      return '';
    }
  }

  watch(listener: (e: EngineEvent) => void): () => void {
    const w = new EventWatch(this.docker, this.errors, listener, this.log, this.endpoint, this.deps.clock);
    const stop = (): void => {
      this.watches.delete(stop);
      w.stop();
    };
    this.watches.add(stop);
    w.start();
    return stop;
  }

  close(): void {
    for (const stop of [...this.watches]) stop();
  }

  /** 'gone' on 404; `done` recognises "already done" answers; anything else is mapped and thrown. */
  private async tolerate(
    what: string,
    ms: number,
    done: (e: unknown) => boolean,
    fn: (s: AbortSignal) => Promise<unknown>,
  ): Promise<'ok' | 'gone'> {
    try {
      await this.call(what, ms, fn);
    } catch (e) {
      if (isNotFound(e)) return 'gone';
      if (!done(e)) throw this.errors.map(e, what);
    }
    return 'ok';
  }

  private async inspectRaw(id: string): Promise<Docker.ContainerInspectInfo | null> {
    try {
      return await this.call(`inspect container ${short(id)}`, CALL_MS, (abortSignal) =>
        this.docker.getContainer(id).inspect({ abortSignal }),
      );
    } catch (e) {
      if (isNotFound(e)) return null;
      throw this.errors.map(e, `inspect container ${short(id)}`);
    }
  }

  private async createOrFind(options: Docker.ContainerCreateOptions & { name: string }): Promise<string> {
    const what = `create container ${options.name}`;
    try {
      // A copy: dockerode deletes fields (abortSignal, authconfig) from the object it is given.
      const c = await this.call(what, CALL_MS, (abortSignal) =>
        this.docker.createContainer({ ...options, abortSignal }),
      );
      return c.id;
    } catch (e) {
      if (statusOf(e) !== 409) throw this.errors.map(e, what);
      // The name is taken: an earlier attempt at the same spec (a crash or retry) already created it.
      const existing = await this.inspectRaw(options.name);
      if (existing === null) throw this.errors.map(e, what);
      if (options.Image !== undefined && existing.Config.Image !== options.Image) {
        const taken = `container name ${options.name} is taken by a container of image ${existing.Config.Image}`;
        throw this.errors.plain(`${taken}, not ${options.Image}`, 409);
      }
      return existing.Id;
    }
  }

  private async connectNetwork(id: string, net: { name: string; aliases: string[] }): Promise<void> {
    const what = `connect container ${short(id)} to network ${net.name}`;
    try {
      await this.call(what, CALL_MS, (abortSignal) =>
        this.docker.getNetwork(net.name).connect({
          Container: id,
          EndpointConfig: { Aliases: net.aliases },
          abortSignal,
        } as Docker.NetworkConnectOptions),
      );
    } catch (e) {
      // A re-run of the same spec finds it connected already.
      if (statusOf(e) !== undefined && /already (exists|connected)/i.test(engineMessage(e))) return;
      throw this.errors.map(e, what);
    }
  }

  private async awaitRemoval(id: string): Promise<RetireResult> {
    const deadline = Date.now() + REMOVAL_WAIT_MS;
    while (Date.now() < deadline) {
      if ((await this.inspectRaw(id)) === null) return 'gone';
      await delay(REMOVAL_POLL_MS);
    }
    throw this.errors.plain(`container ${short(id)} is still being removed after ${REMOVAL_WAIT_MS} ms`, 409);
  }
}
