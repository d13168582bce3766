// Docker, when a service's pools come from it or gc asks for it; prune builds it on demand otherwise.
import type { PruneReport } from '../api/ports.js';
import type { Config } from '../config/schema.js';
import { err, errorMessage, ok, UnavailableError, type Result } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import { DockerStack, openEngines } from '../docker/stack.js';
import type { RolloutController } from '../rollout/controller.js';
import type { Records } from '../rollout/records.js';
import type { Base } from './base.js';

/** Docker, when a service's pools come from it or gc asks for it (prune builds it on demand otherwise). */
export function buildDocker(b: Base, records: Records): DockerStack | null {
  if (!DockerStack.needed(b.config) && !b.config.docker.gc) return null;
  const stack = new DockerStack(openEngines(b.config, b.log), b.config, stackDeps(b, records));
  b.closers.add('docker', async () => stack.stop());
  return stack;
}

export function stackDeps(b: Base, records: Records) {
  return {
    clock: b.clock,
    log: b.log,
    latest: (s: string) => records.rollout(s)?.value ?? null,
    refresh: async (services: readonly string[]) => {
      for (const s of services) await records.read(s);
    },
  };
}

/** `current`: the config running now (a reload changes its services; engines and owner need a restart). */
export function pruner(
  b: Base,
  docker: DockerStack | null,
  current: () => Config,
): (dryRun: boolean) => Promise<Result<PruneReport>> {
  let stack = docker;
  return async (dryRun) => {
    try {
      if (stack === null) {
        const made = new DockerStack(openEngines(b.config, b.log), current(), {
          clock: b.clock,
          log: b.log,
          latest: () => null,
          refresh: async () => undefined,
        });
        b.closers.add('docker (prune)', async () => made.stop());
        stack = made;
      }
    } catch (e) {
      return err(new UnavailableError(`docker is not usable: ${errorMessage(e)}`));
    }
    stack.configure(current().services);
    return ok(await stack.janitor.prune(dryRun));
  };
}

/** `docker.gc: true`: prune once, as soon as this replica leads (at once for a single veer). */
export function collectGarbage(stack: DockerStack, controller: RolloutController, log: Logger): { cancel(): void } {
  let done = false;
  const attempt = (): void => {
    if (done || !controller.isLeading()) return;
    done = true;
    clearInterval(timer);
    void stack.janitor
      .prune(false)
      .then((r) =>
        log.log('info', 'garbage collection at start', {
          removed: r.containers.filter((c) => c.removed).map((c) => c.name),
          unreachable: r.unreachable,
        }),
      )
      .catch((e: unknown) => log.log('warn', 'garbage collection at start failed', { error: String(e) }));
  };
  const timer = setInterval(attempt, 1_000);
  timer.unref();
  attempt();
  return { cancel: () => clearInterval(timer) };
}
