// The images of one engine: what an image says about itself (env, healthcheck, ports), and pulling
// one the engine does not have yet, following the progress stream to its end because the engine
// reports a failed pull inside that stream, not as an HTTP status.
import type Docker from 'dockerode';
import type { Logger } from '../domain/log.js';
import type { EngineCall } from './engine-call.js';
import { DockerError, engineMessage, isNotFound, type EngineErrors } from './engine-errors.js';
import { toImageConfig } from './engine-view.js';
import type { ImageConfig } from './port.js';

const CALL_MS = 15_000;
const PULL_MS = 5 * 60_000;

type PullOutput = Array<{ error?: string; errorDetail?: { message?: string } }>;

export class EngineImages {
  constructor(
    private readonly docker: Docker,
    private readonly call: EngineCall,
    private readonly errors: EngineErrors,
    private readonly endpoint: string,
    private readonly log: Logger,
  ) {}

  /** null when the engine does not have the image. */
  async inspect(ref: string): Promise<ImageConfig | null> {
    try {
      return toImageConfig(await this.call(`inspect image ${ref}`, CALL_MS, () => this.docker.getImage(ref).inspect()));
    } catch (e) {
      if (isNotFound(e)) return null;
      throw this.errors.map(e, `inspect image ${ref}`);
    }
  }

  /** The image, pulled first when the engine lacks it. */
  async ensure(image: string): Promise<ImageConfig> {
    return (await this.inspect(image)) ?? (await this.pullAndInspect(image));
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
    const config = await this.inspect(image);
    if (config === null) throw fail('the pull finished but the image is still missing');
    return config;
  }

  private async pull(image: string, abortSignal: AbortSignal): Promise<void> {
    const stream = await this.docker.pull(image, { abortSignal });
    const output = await new Promise<PullOutput>((resolve, reject) => {
      this.docker.modem.followProgress(stream, (err: Error | null, out: unknown[]) =>
        err ? reject(err) : resolve(out as PullOutput),
      );
    });
    const failed = output.find((o) => o.error !== undefined || o.errorDetail !== undefined);
    if (failed) throw new Error(failed.errorDetail?.message ?? failed.error ?? 'pull failed');
  }
}
