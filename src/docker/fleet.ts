// The Docker side of a rollout: clone the stable containers into canaries with the new image, gate
// them on health (Docker's HEALTHCHECK when the image has one, else an HTTP probe), and remove a
// generation when the machine says so. Every wait ends at a deadline with a reason that names the
// container; every operation can be repeated after a crash (names and labels are derived from the
// rollout id, removal treats "already gone" as done).
import { withTimeout } from '../domain/async.js';
import type { Clock } from '../domain/clock.js';
import { err, ok, type Result } from '../domain/errors.js';
import { generations, type Generations } from '../domain/generation.js';
import type { StableSpec } from '../domain/history.js';
import type { Logger } from '../domain/log.js';
import type { RolloutState } from '../domain/rollout.js';
import type { CanaryFleet } from '../rollout/canary-fleet.js';
import { HealthGate, withCause, type GatedService } from './canary-health.js';
import { unlessAborted } from './abortable.js';
import { cloneSpec } from './clone-spec.js';
import { generationOf, matchesSelector, serviceGenerations, startedSince } from './membership.js';
import { orphans } from './orphans.js';
import { LABEL, type ContainerDriver, type ContainerView } from './port.js';
import { engineDown, Removals } from './removal.js';

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

export class DockerFleet implements CanaryFleet {
  private readonly gate: HealthGate;
  private readonly removals: Removals;

  constructor(private readonly d: FleetDeps) {
    this.gate = new HealthGate({ engine: (e) => this.engine(e), clock: d.clock, pollMs: d.pollMs ?? 500 });
    this.removals = new Removals({ engine: (e) => this.engine(e), stopTimeoutS: d.stopTimeoutS, log: d.log });
  }

  refuse(service: string): string | null {
    if (!this.d.services.has(service))
      return `service ${service}'s stable pool is not a Docker pool (set stable.docker: { selector, port })`;
    return null;
  }

  async describe(service: string, generation: string | null): Promise<StableSpec | null> {
    const running = await this.generation(service, generation, false);
    const first = running[0];
    if (first === undefined) return null;
    const env = await this.engine(first.endpoint).envOf(first.id);
    return { image: first.image, env: env ?? [], count: running.length };
  }

  async lacking(service: string, generation: string | null, image: string): Promise<string[]> {
    const running = await this.generation(service, generation, false);
    const endpoints = [...new Set(running.map((c) => c.endpoint))];
    const has = await Promise.all(endpoints.map((e) => this.engine(e).hasImage(image)));
    return endpoints.filter((_, i) => has[i] !== true);
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
    // Names are unique per engine only and the stables may have changed since an attempt before a restart:
    // a canary that attempt made is found where it is (its own template), never made again elsewhere.
    // An engine that does not answer is skipped, as for cloning: a relaunch may then run one canary more.
    const skipped = (endpoint: string, e: unknown): void =>
      this.d.log.log('warn', 'docker endpoint skipped: its canaries are not reused', { endpoint, error: withCause(e) });
    const made = await this.generation(s.service, s.id, true, skipped);
    const created: ContainerView[] = [];
    for (let i = 0; i < d.count; i++) {
      if (signal.aborted) return err('interrupted');
      const name = `${s.service}-${s.id.slice(0, 8)}-${i + 1}`;
      const template = made.find((c) => c.name === name) ?? (stables[i % stables.length] as ContainerView);
      const r = await this.create(template, name, s, deadline, signal);
      if (!r.ok) return r;
      created.push(r.value);
    }
    return this.gate.awaitHealthy(svc, created, s.policy.healthTimeout, deadline, signal);
  }

  async running(service: string, generation: string): Promise<{ count: number; unanswered: string[] }> {
    const unanswered: string[] = [];
    const found = await this.generation(service, generation, false, (endpoint) => unanswered.push(endpoint));
    return { count: found.length, unanswered }; // running ones only
  }

  /**
   * The user's (unlabelled) generation is the selector's containers minus those started since the latest
   * rollout began (compose `up -d` recreated them meanwhile): routing keeps those stable, never drained.
   */
  retire(service: string, generation: string | null): Promise<void> {
    const latest = this.d.latest(service);
    const mark = generation === null && latest?.docker ? { rolloutId: latest.id, startedAt: latest.startedAt } : null;
    // A stopped container of the user's was never routed: it is theirs to keep (veer's own clones go, stopped too).
    const all = generation !== null;
    return this.removals.generation(service, generation, async (onDown) =>
      (await this.generation(service, generation, all, onDown)).filter((c) => !mark || !startedSince(c, mark)),
    );
  }

  async stableGeneration(service: string): Promise<string | null> {
    return (await this.generationsOf(service)).stable;
  }

  /** From the latest rollout, or inferred from the running containers when there is none. */
  async generationsOf(service: string): Promise<Generations> {
    const svc = this.d.services.get(service);
    const latest = this.d.latest(service);
    // Listed even with a record: once compose has replaced the promoted containers, what runs decides.
    if (!svc) return generations(latest);
    const found = [
      ...(await this.listAll(svc.docker.stable.selector, false)),
      ...(await this.listAll({ [LABEL.owner]: this.d.owner, [LABEL.service]: service }, false)),
    ];
    return serviceGenerations(latest, found, svc.docker, this.d.owner);
  }

  /** Removes the service's leftovers; an engine that does not answer is an expected condition: 0, said once. */
  async reconcile(service: string): Promise<number> {
    try {
      const own = await this.listAll({ [LABEL.owner]: this.d.owner, [LABEL.service]: service });
      const gens = new Map([[service, await this.generationsOf(service)]]);
      return await this.removals.leftovers(service, orphans(own, gens, this.d.owner));
    } catch (e) {
      if (!engineDown(e)) throw e;
      this.d.log.log('warn', 'leftover containers not checked: docker does not answer', {
        service,
        error: withCause(e),
      });
      return 0;
    }
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
        [LABEL.rollout]: s.id,
        [LABEL.owner]: this.d.owner,
      };
      const spec = cloneSpec(t, { image: d.image, name, env: d.env, labels });
      if (!spec.ok) return err(`cannot clone ${template.name} for ${s.service}: ${spec.error}`);
      // An undo recreates the previous generation: its env is that generation's whole env, not additions.
      if (d.exactEnv === true) spec.value.options.Env = [...d.env];
      // The name is the rollout's: one that exists is this rollout's, from an attempt before a restart.
      const before = await engine.inspect(name).catch(() => null);
      const view = await engine.run(spec.value);
      const { name: container, endpoint } = view;
      const what = before?.id === view.id ? 'reused canary container' : 'created canary container';
      this.d.log.log('info', what, { service: s.service, container, endpoint, image: d.image });
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
