// The dockerode adapter: one Docker engine (endpoint) as a ContainerDriver. Every engine call is
// bounded, every container operation is idempotent (the engine's 304/404/409 answers for "already
// done" are outcomes, not failures), and every error names the endpoint.
import Docker from 'dockerode';
import type { ContainerInspectInfo, ContainerCreateOptions } from 'dockerode';
import { silentLogger, type Logger } from '../domain/log.js';
import { DockerError, EngineErrors, describeAddress, engineMessage, isNotFound, statusOf } from './engine-errors.js';
import { EventWatch } from './engine-events.js';
import { asBuffer, demuxLogs } from './engine-logs.js';
import { toImageConfig, toView } from './engine-view.js';
import type {
  CloneTemplate,
  ContainerDriver,
  ContainerView,
  CreateSpec,
  EngineEvent,
  ImageConfig,
  RetireResult,
} from './port.js';

export { toImageConfig, toView } from './engine-view.js';

const CALL_MS = 15_000;
/** Added to the stop grace: the engine answers only once the container is down (or killed). */
const STOP_SLACK_MS = 15_000;
const PULL_MS = 5 * 60_000;
const REMOVAL_WAIT_MS = 10_000;
const REMOVAL_POLL_MS = 100;
/** Docker's own default when a container sets no StopTimeout. */
const DEFAULT_STOP_S = 10;

/** The engine is already removing the container (AutoRemove after it stopped). */
export const beingRemoved = (e: unknown): boolean =>
  statusOf(e) !== undefined && /marked for removal|removal .*(already )?in progress/i.test(engineMessage(e));

/**
 * Engine 20.10 answers 500 "container not running" to an update that races the container's own
 * stop (a concurrent retire, AutoRemove). It is being removed next anyway, so the policy no longer matters.
 */
export const stoppedUnderUs = (e: unknown): boolean =>
  statusOf(e) !== undefined && /container not running|is not running/i.test(engineMessage(e));

const short = (id: string): string => (/^[0-9a-f]{64}$/.test(id) ? id.slice(0, 12) : id);

export class DockerEngine implements ContainerDriver {
  private readonly docker: Docker;
  private readonly errors: EngineErrors;
  private readonly log: Logger;
  private readonly watches = new Set<() => void>();

  constructor(
    readonly endpoint: string,
    options: Docker.DockerOptions,
    readonly publishedHost: string,
    deps: { log?: Logger } = {},
  ) {
    this.docker = new Docker(options);
    this.errors = new EngineErrors(endpoint, describeAddress(options));
    this.log = deps.log ?? silentLogger;
  }

  async list(opts: { all: boolean; labels?: Record<string, string> }): Promise<ContainerView[]> {
    const label = Object.entries(opts.labels ?? {}).map(([k, v]) => `${k}=${v}`);
    const summaries = await this.call('list containers', CALL_MS, (abortSignal) =>
      this.docker.listContainers({ all: opts.all, ...(label.length > 0 ? { filters: { label } } : {}), abortSignal }),
    ).catch((e: unknown) => Promise.reject(this.errors.map(e, 'list containers')));
    // A container may vanish (or stop) between the list and its inspect.
    const infos = await Promise.all(summaries.map((s) => this.inspectRaw(s.Id)));
    return infos
      .filter((i): i is ContainerInspectInfo => i !== null && (opts.all || i.State.Running))
      .map((i) => toView(this.endpoint, i));
  }

  async inspect(id: string): Promise<ContainerView | null> {
    const info = await this.inspectRaw(id);
    return info === null ? null : toView(this.endpoint, info);
  }

  async template(containerId: string, image: string): Promise<CloneTemplate> {
    const container = await this.inspectRaw(containerId);
    if (container === null) throw this.errors.plain(`no such container ${short(containerId)}`, 404);
    const oldImage = await this.inspectImage(container.Image);
    const newImage = (await this.inspectImage(image)) ?? (await this.pullAndInspect(image));
    return { container, oldImage, newImage };
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
      this.log.log('debug', 'docker: logs unavailable', {
        endpoint: this.endpoint,
        id,
        error: e instanceof Error ? e.message : String(e),
      });
      return '';
    }
  }

  watch(listener: (e: EngineEvent) => void): () => void {
    const w = new EventWatch(this.docker, this.errors, listener, this.log, this.endpoint);
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

  /** Runs one engine call, aborted and rejected with a timeout error after `ms`; other errors stay raw. */
  private async call<T>(what: string, ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    // Also a race, not only the signal: a few dockerode calls (image inspect) ignore abortSignal.
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(this.errors.timeout(what, ms));
      }, ms);
    });
    try {
      return await Promise.race([fn(controller.signal), timeout]);
    } finally {
      clearTimeout(timer);
    }
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

  private async inspectRaw(id: string): Promise<ContainerInspectInfo | null> {
    try {
      return await this.call(`inspect container ${short(id)}`, CALL_MS, (abortSignal) =>
        this.docker.getContainer(id).inspect({ abortSignal }),
      );
    } catch (e) {
      if (isNotFound(e)) return null;
      throw this.errors.map(e, `inspect container ${short(id)}`);
    }
  }

  private async inspectImage(ref: string): Promise<ImageConfig | null> {
    try {
      return toImageConfig(await this.call(`inspect image ${ref}`, CALL_MS, () => this.docker.getImage(ref).inspect()));
    } catch (e) {
      if (isNotFound(e)) return null;
      throw this.errors.map(e, `inspect image ${ref}`);
    }
  }

  private async pullAndInspect(image: string): Promise<ImageConfig> {
    const fail = (why: string): DockerError =>
      new DockerError(
        `image ${image} is not on endpoint "${this.endpoint}" and could not be pulled: ${why}`,
        undefined,
        'image_unavailable',
        502,
      );
    this.log.log('info', 'docker: pulling image', { endpoint: this.endpoint, image });
    try {
      await this.call(`pull image ${image}`, PULL_MS, (abortSignal) => this.pull(image, abortSignal));
    } catch (e) {
      throw fail(e instanceof DockerError ? e.message : engineMessage(e));
    }
    const config = await this.inspectImage(image);
    if (config === null) throw fail('the pull finished but the image is still missing');
    return config;
  }

  /** Follows the progress stream to its end; the engine reports pull failures inside it, not as a status. */
  private async pull(image: string, abortSignal: AbortSignal): Promise<void> {
    const stream = await this.docker.pull(image, { abortSignal });
    const output = await new Promise<Array<{ error?: string; errorDetail?: { message?: string } }>>(
      (resolve, reject) => {
        this.docker.modem.followProgress(stream, (err: Error | null, out: unknown[]) =>
          err ? reject(err) : resolve(out as never),
        );
      },
    );
    const failed = output.find((o) => o.error !== undefined || o.errorDetail !== undefined);
    if (failed) throw new Error(failed.errorDetail?.message ?? failed.error ?? 'pull failed');
  }

  private async createOrFind(options: ContainerCreateOptions & { name: string }): Promise<string> {
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
        throw this.errors.plain(
          `container name ${options.name} is taken by a container of image ${existing.Config.Image}, not ${options.Image}`,
          409,
        );
      }
      return existing.Id;
    }
  }

  private async connectNetwork(id: string, net: { name: string; aliases: string[] }): Promise<void> {
    const what = `connect container ${short(id)} to network ${net.name}`;
    try {
      await this.call(what, CALL_MS, (abortSignal) =>
        this.docker
          .getNetwork(net.name)
          .connect({
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
      await new Promise((r) => setTimeout(r, REMOVAL_POLL_MS));
    }
    throw this.errors.plain(`container ${short(id)} is still being removed after ${REMOVAL_WAIT_MS} ms`, 409);
  }
}
