// Removing veer's own containers: a whole generation, retried (the losing pool of a rollback or a
// promotion), or a service's leftovers after a restart. Each container is removed by one caller at a
// time and each removal is named once in the log, even when two callers ask for it (the launch that
// ended and the rollback's retirement both remove the canaries).
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../domain/log.js';
import { withCause } from './canary-health.js';
import { DockerError } from './engine-errors.js';
import type { Orphan } from './orphans.js';
import type { ContainerDriver, ContainerView } from './port.js';

/**
 * Removal is retried 1+2+4+8+16 s apart (about half a minute) before the controller reports what is
 * left: an engine that restarts comes back within that, and the rollout stays `promoting` or
 * `rolling-back` meanwhile, which is what is happening.
 */
const RETIRE_ATTEMPTS = 6;

export interface RemovalDeps {
  engine(endpoint: string): ContainerDriver;
  /** Grace period for stopping (null: the container's own StopTimeout). */
  stopTimeoutS: number | null;
  log: Logger;
  /** Before retry n (1-based); tests pass 0. */
  backoffMs?: (attempt: number) => number;
}

/** What is left of a generation; an engine that does not answer is skipped and told to `onDown`. */
export type GenerationList = (onDown: (endpoint: string, e: unknown) => void) => Promise<ContainerView[]>;

/** The engine could not be reached or did not answer in time: an expected condition, not a fault. */
export function engineDown(e: unknown): boolean {
  return e instanceof DockerError && (e.code === 'docker_unreachable' || e.code === 'docker_timeout');
}

export class Removals {
  /** Containers being removed now, by id. */
  private readonly removing = new Map<string, Promise<unknown>>();

  constructor(private readonly d: RemovalDeps) {}

  /**
   * Every engine that answers gets its share removed even when another does not; the call still
   * fails (after retries) while something could not be reached, so the caller can say so.
   */
  async generation(service: string, generation: string | null, list: GenerationList): Promise<void> {
    let failed: string[] = [];
    for (let attempt = 1; attempt <= RETIRE_ATTEMPTS; attempt++) {
      failed = await this.once(service, generation, list);
      if (failed.length === 0) return;
      const retrying = attempt < RETIRE_ATTEMPTS;
      this.d.log.log('warn', 'removing containers failed', { service, generation, attempt, retrying, failed });
      if (retrying) await delay(this.d.backoffMs?.(attempt) ?? 1_000 * 2 ** (attempt - 1));
    }
    const which = `${service} (generation ${generation ?? 'unlabelled'})`;
    throw new Error(`could not remove every container of ${which}: ${failed.join('; ')}`);
  }

  /** Removes `doomed` (with their anonymous volumes); rejects with the first failure. */
  async leftovers(service: string, doomed: readonly Orphan[]): Promise<number> {
    await Promise.all(
      doomed.map(async (o) => {
        if (!(await this.container(o.container, true))) return;
        const container = o.container.name;
        this.d.log.log('info', 'removed a leftover container', { service, container, reason: o.reason });
      }),
    );
    return doomed.length;
  }

  /** One pass over what is left of a generation: logs the containers it removed, returns what failed. */
  private async once(service: string, generation: string | null, list: GenerationList): Promise<string[]> {
    const failed: string[] = [];
    const doomed = await list((endpoint, e) => failed.push(`${endpoint}: ${withCause(e)}`));
    const removed: string[] = [];
    await Promise.all(
      doomed.map(async (c) => {
        try {
          // A user's containers (the unlabelled generation) keep their volumes.
          if (await this.container(c, generation !== null)) removed.push(c.name);
        } catch (e) {
          failed.push(`${c.name}: ${withCause(e)}`);
        }
      }),
    );
    removed.sort();
    if (removed.length > 0) this.d.log.log('info', 'removed containers', { service, generation, containers: removed });
    return failed;
  }

  /** Stops and removes one container; a second caller meanwhile waits for the first and gets false. */
  private async container(c: ContainerView, volumes: boolean): Promise<boolean> {
    const running = this.removing.get(c.id);
    if (running) return running.then(() => false);
    const p = this.d
      .engine(c.endpoint)
      .retire(c.id, { stopTimeoutS: this.d.stopTimeoutS, volumes })
      .finally(() => this.removing.delete(c.id));
    this.removing.set(c.id, p);
    await p;
    return true;
  }
}
