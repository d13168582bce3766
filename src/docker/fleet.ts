// The Docker side of a rollout: clone the stable containers into canaries with the new image, gate
// them on health (Docker's HEALTHCHECK when the image has one, else an HTTP probe), and remove a
// generation when the machine says so. Every wait ends at a deadline with a reason that names the
// container; every operation can be repeated after a crash (names and labels are derived from the
// rollout id, removal treats "already gone" as done).
import { setTimeout as delay } from 'node:timers/promises';
import { withTimeout } from '../domain/async.js';
import type { Clock } from '../domain/clock.js';
import { err, ok, type Result } from '../domain/errors.js';
import { generations, type Generations } from '../domain/generation.js';
import type { Logger } from '../domain/log.js';
import type { RolloutState } from '../domain/rollout.js';
import type { CanaryFleet } from '../rollout/canary-fleet.js';
import { HealthGate, withCause, type GatedService } from './canary-health.js';
import { cloneSpec } from './clone-spec.js';
import { generationOf, matchesSelector, serviceGenerations } from './membership.js';
import { orphans } from './orphans.js';
import { LABEL, type ContainerDriver, type ContainerView } from './port.js';

export type { HealthProbe } from './canary-health.js';

/** A Docker-backed service: its pools' selectors, and the health check that gates its canaries. */
export type FleetService = GatedService;

export interface FleetDeps {
  engines: readonly ContainerDriver[];
  services: ReadonlyMap<string, FleetService>;
  owner: string;
  /** Grace period for stopping (null: the container's own StopTimeout). */
  stopTimeoutS: number | null;
  latest(service: string): RolloutState | null;
  clock: Clock;
  log: Logger;
  /** Between health looks. */
  pollMs?: number;
}

/**
 * Removal is retried 1+2+4+8+16 s apart (about half a minute) before the controller reports what is
 * left: an engine that restarts comes back within that, and the rollout stays `promoting` or
 * `rolling-back` meanwhile, which is what is happening.
 */
const RETIRE_ATTEMPTS = 6;

export class DockerFleet implements CanaryFleet {
  private readonly gate: HealthGate;

  constructor(private readonly d: FleetDeps) {
    this.gate = new HealthGate({ engine: (e) => this.engine(e), clock: d.clock, pollMs: d.pollMs ?? 500 });
  }

  refuse(service: string): string | null {
    if (!this.d.services.has(service))
      return `service ${service}'s stable pool is not a Docker pool (set stable.docker: { selector, port })`;
    return null;
  }

  async count(service: string, generation: string | null): Promise<number> {
    return (await this.generation(service, generation, false)).length;
  }

  async launch(s: RolloutState, deadline: number, signal: AbortSignal): Promise<Result<string[], string>> {
    const svc = this.d.services.get(s.service);
    const d = s.docker;
    if (!svc || !d) return err(`rollout ${s.id} of ${s.service} is not an image rollout of a Docker pool`);
    let stables: ContainerView[];
    try {
      stables = await this.generation(s.service, d.stableGeneration, false, (endpoint, e) =>
        this.d.log.log('warn', 'docker endpoint skipped: its stable containers are not cloned', {
          endpoint,
          error: withCause(e),
        }),
      );
    } catch (e) {
      return err(`could not list the stable containers of ${s.service}: ${withCause(e)}`);
    }
    if (stables.length === 0) {
      const selector = JSON.stringify(svc.docker.stable.selector);
      return err(`no running stable container of ${s.service} to clone (selector ${selector})`);
    }
    const created: ContainerView[] = [];
    for (let i = 0; i < d.count; i++) {
      if (signal.aborted) return err('interrupted');
      const template = stables[i % stables.length] as ContainerView;
      const name = `${s.service}-${s.id.slice(0, 8)}-${i + 1}`;
      const r = await this.create(template, name, s, deadline, signal);
      if (!r.ok) return r;
      created.push(r.value);
    }
    return this.gate.awaitHealthy(svc, created, s.policy.healthTimeout, deadline, signal);
  }

  /**
   * Every engine that answers gets its share removed even when another does not; the call still
   * fails (after retries) while something could not be reached, so the caller can say so.
   */
  async retire(service: string, generation: string | null): Promise<void> {
    let failed: string[] = [];
    for (let attempt = 1; attempt <= RETIRE_ATTEMPTS; attempt++) {
      failed = [];
      const doomed = await this.generation(service, generation, true, (endpoint, e) =>
        failed.push(`${endpoint}: ${withCause(e)}`),
      );
      const results = await Promise.allSettled(
        doomed.map((c) =>
          this.engine(c.endpoint).retire(c.id, { stopTimeoutS: this.d.stopTimeoutS, volumes: generation !== null }),
        ),
      );
      results.forEach((r, i) => r.status === 'rejected' && failed.push(`${doomed[i]?.name}: ${withCause(r.reason)}`));
      const containers = doomed.map((c) => c.name);
      if (doomed.length > 0) this.d.log.log('info', 'removed containers', { service, generation, containers, failed });
      if (failed.length === 0) return;
      this.d.log.log('warn', 'removing containers failed; retrying', { service, generation, attempt, failed });
      if (attempt < RETIRE_ATTEMPTS) await delay(1_000 * 2 ** (attempt - 1));
    }
    const which = `${service} (generation ${generation ?? 'unlabelled'})`;
    throw new Error(`could not remove every container of ${which}: ${failed.join('; ')}`);
  }

  async stableGeneration(service: string): Promise<string | null> {
    return (await this.generationsOf(service)).stable;
  }

  /** From the latest rollout, or inferred from the running containers when there is none. */
  async generationsOf(service: string): Promise<Generations> {
    const svc = this.d.services.get(service);
    const latest = this.d.latest(service);
    if (!svc || latest?.docker) return generations(latest);
    const found = [
      ...(await this.listAll(svc.docker.stable.selector, false)),
      ...(await this.listAll({ [LABEL.owner]: this.d.owner, [LABEL.service]: service }, false)),
    ];
    return serviceGenerations(latest, found, svc.docker, this.d.owner);
  }

  async reconcile(service: string): Promise<number> {
    const own = await this.listAll({ [LABEL.owner]: this.d.owner, [LABEL.service]: service });
    const gens = new Map([[service, await this.generationsOf(service)]]);
    const doomed = orphans(own, gens, this.d.owner);
    await Promise.all(
      doomed.map((o) =>
        this.engine(o.container.endpoint).retire(o.container.id, { stopTimeoutS: this.d.stopTimeoutS, volumes: true }),
      ),
    );
    for (const o of doomed)
      this.d.log.log('info', 'removed a leftover container', {
        service,
        container: o.container.name,
        reason: o.reason,
      });
    return doomed.length;
  }

  /**
   * The service's containers of one generation (running only, or also stopped ones), by name.
   * `onDown`: an engine that does not answer is skipped and reported there (else the call fails).
   */
  private async generation(
    service: string,
    gen: string | null,
    all: boolean,
    onDown?: (endpoint: string, e: unknown) => void,
  ): Promise<ContainerView[]> {
    const svc = this.d.services.get(service);
    if (!svc) return [];
    const stable = svc.docker.stable;
    const labels =
      gen === null ? stable.selector : { [LABEL.owner]: this.d.owner, [LABEL.service]: service, [LABEL.rollout]: gen };
    const found = await this.listAll(labels, all, onDown);
    const userCanary = svc.docker.canary;
    return (
      found
        // A labelled generation was listed by owner and service already; the unlabelled one by selector.
        .filter(
          (c) =>
            generationOf(c) === gen &&
            (gen !== null || (matchesSelector(c, stable) && !(userCanary && matchesSelector(c, userCanary)))),
        )
        .sort((a, b) => a.name.localeCompare(b.name))
    );
  }

  private async listAll(
    labels: Record<string, string>,
    all = true,
    onDown?: (endpoint: string, e: unknown) => void,
  ): Promise<ContainerView[]> {
    const lists = await Promise.allSettled(this.d.engines.map((e) => e.list({ all, labels })));
    return lists.flatMap((r, i) => {
      if (r.status === 'fulfilled') return r.value;
      if (!onDown) throw r.reason;
      onDown(this.d.engines[i]?.endpoint ?? '?', r.reason);
      return [];
    });
  }

  private async create(
    template: ContainerView,
    name: string,
    s: RolloutState,
    deadline: number,
    signal: AbortSignal,
  ): Promise<Result<ContainerView, string>> {
    const d = s.docker as NonNullable<RolloutState['docker']>;
    const engine = this.engine(template.endpoint);
    try {
      // A pull can take minutes: the launch gives up at its deadline (the engine may finish the
      // pull on its own; no container is created from it).
      const t = await withTimeout(
        unlessAborted(engine.template(template.id, d.image), signal),
        deadline - this.d.clock.now(),
        `getting image ${d.image} (healthTimeout ${Math.round(s.policy.healthTimeout / 1000)}s)`,
      );
      const labels = {
        [LABEL.service]: s.service,
        [LABEL.pool]: 'canary',
        [LABEL.rollout]: s.id,
        [LABEL.owner]: this.d.owner,
      };
      const spec = cloneSpec(t, { image: d.image, name, env: d.env, labels });
      if (!spec.ok) return err(`cannot clone ${template.name} for ${s.service}: ${spec.error}`);
      const view = await engine.run(spec.value);
      const { name: container, endpoint } = view;
      this.d.log.log('info', 'created canary container', { service: s.service, container, endpoint, image: d.image });
      return ok(view);
    } catch (e) {
      return err(`could not create canary container ${name} on ${template.endpoint}: ${withCause(e)}`);
    }
  }

  private engine(endpoint: string): ContainerDriver {
    const e = this.d.engines.find((x) => x.endpoint === endpoint);
    if (!e) throw new Error(`no docker endpoint named "${endpoint}"`);
    return e;
  }
}

/** `p`, or a rejection once `signal` aborts (the work behind `p` may still finish on its own). */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error('interrupted'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([p, aborted]).finally(() => onAbort && signal.removeEventListener('abort', onAbort));
}
