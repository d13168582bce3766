// The Docker side of a rollout: clone the stable containers into canaries with the new image, gate
// them on health (Docker's HEALTHCHECK when the image has one, else an HTTP probe), and remove a
// generation when the machine says so. Every wait ends at a deadline with a reason that names the
// container; every operation can be repeated after a crash (names and labels are derived from the
// rollout id, removal treats "already gone" as done).
import type { Clock } from '../domain/clock.js';
import { err, ok, type Result } from '../domain/errors.js';
import { generations, type Generations } from '../domain/generation.js';
import type { Logger } from '../domain/log.js';
import type { RolloutState } from '../domain/rollout.js';
import type { CanaryFleet } from '../rollout/fleet.js';
import { cloneSpec } from './clone-spec.js';
import { addressOf, generationOf, matchesSelector, serviceGenerations, type DockerService } from './membership.js';
import { orphans } from './orphans.js';
import { LABEL, type ContainerDriver, type ContainerView } from './port.js';

export interface HealthProbe {
  path: string;
  /** Statuses below this count as healthy. */
  expectStatusBelow: number;
}

export interface FleetService {
  docker: DockerService;
  /** The service's health check, or null: then any HTTP answer below 500 on "/" counts as up. */
  health: HealthProbe | null;
}

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
  constructor(private readonly d: FleetDeps) {}

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
          error: message(e),
        }),
      );
    } catch (e) {
      return err(`could not list the stable containers of ${s.service}: ${message(e)}`);
    }
    if (stables.length === 0)
      return err(
        `no running stable container of ${s.service} to clone (selector ${JSON.stringify(svc.docker.stable.selector)})`,
      );
    const created: ContainerView[] = [];
    for (let i = 0; i < d.count; i++) {
      if (signal.aborted) return err('interrupted');
      const template = stables[i % stables.length] as ContainerView;
      const name = `${s.service}-${s.id.slice(0, 8)}-${i + 1}`;
      const r = await this.create(template, name, s, deadline, signal);
      if (!r.ok) return r;
      created.push(r.value);
    }
    return this.awaitHealthy(svc, created, s.policy.healthTimeout, deadline, signal);
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
        failed.push(`${endpoint}: ${message(e)}`),
      );
      const results = await Promise.allSettled(
        doomed.map((c) =>
          this.engine(c.endpoint).retire(c.id, { stopTimeoutS: this.d.stopTimeoutS, volumes: generation !== null }),
        ),
      );
      results.forEach((r, i) => r.status === 'rejected' && failed.push(`${doomed[i]?.name}: ${message(r.reason)}`));
      if (doomed.length > 0)
        this.d.log.log('info', 'removed containers', {
          service,
          generation,
          containers: doomed.map((c) => c.name),
          failed,
        });
      if (failed.length === 0) return;
      this.d.log.log('warn', 'removing containers failed; retrying', { service, generation, attempt, failed });
      if (attempt < RETIRE_ATTEMPTS) await new Promise((r) => setTimeout(r, 1_000 * 2 ** (attempt - 1)));
    }
    throw new Error(
      `could not remove every container of ${service} (generation ${generation ?? 'unlabelled'}): ${failed.join('; ')}`,
    );
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

  /** The service's containers of one generation (running only, or also stopped ones), by name. */
  /** `onDown`: an engine that does not answer is skipped and reported there (else the call fails). */
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
      const t = await within(
        engine.template(template.id, d.image),
        deadline - this.d.clock.now(),
        signal,
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
      this.d.log.log('info', 'created canary container', {
        service: s.service,
        container: view.name,
        endpoint: view.endpoint,
        image: d.image,
      });
      return ok(view);
    } catch (e) {
      return err(`could not create canary container ${name} on ${template.endpoint}: ${message(e)}`);
    }
  }

  /** Bounded wait until every container serves; the first definite failure ends it at once. */
  private async awaitHealthy(
    svc: FleetService,
    created: ContainerView[],
    timeoutMs: number,
    deadline: number,
    signal: AbortSignal,
  ): Promise<Result<string[], string>> {
    const pending = new Map(created.map((c) => [c.id, { view: c, last: 'no health result yet' }]));
    const ready = new Map<string, string>();
    const pollMs = this.d.pollMs ?? 500;
    const maxRounds = Math.ceil(Math.max(0, deadline - this.d.clock.now()) / pollMs) + 2;
    for (let round = 0; round < maxRounds && pending.size > 0; round++) {
      if (signal.aborted) return err('interrupted');
      for (const [id, p] of pending) {
        const r = await this.look(svc, p.view);
        if (r.kind === 'failed') return err(r.reason);
        if (r.kind === 'ready') {
          ready.set(id, r.address);
          pending.delete(id);
        } else p.last = r.detail;
      }
      if (pending.size === 0 || this.d.clock.now() >= deadline) break;
      await sleep(pollMs, signal);
    }
    const [first] = pending.values();
    if (first)
      return err(
        `canary container ${first.view.name} (${first.view.endpoint}) was not healthy within ${Math.round(timeoutMs / 1000)}s: ${first.last}`,
      );
    return ok(created.map((c) => ready.get(c.id) as string));
  }

  private async look(
    svc: FleetService,
    c: ContainerView,
  ): Promise<
    { kind: 'ready'; address: string } | { kind: 'waiting'; detail: string } | { kind: 'failed'; reason: string }
  > {
    const engine = this.engine(c.endpoint);
    const v = await engine.inspect(c.id).catch((e: unknown) => new Error(message(e)));
    if (v instanceof Error) return { kind: 'waiting', detail: `inspect failed: ${v.message}` };
    if (v === null)
      return { kind: 'failed', reason: `canary container ${c.name} (${c.endpoint}) disappeared before it was healthy` };
    if (!v.running) {
      const logs = (await engine.logs(v.id, 5)).trim();
      return {
        kind: 'failed',
        reason: `canary container ${v.name} (${v.endpoint}) exited with code ${v.exitCode ?? '?'}${v.error ? ` (${v.error})` : ''}${logs ? `; last output: ${logs}` : ''}`,
      };
    }
    const address = addressOf(v, svc.docker.stable, engine.publishedHost);
    if (address === null)
      return {
        kind: 'failed',
        reason: `canary container ${v.name} (${v.endpoint}) cannot be reached: no host port for ${svc.docker.stable.port}/tcp and no network configured`,
      };
    switch (v.health) {
      case 'healthy':
        return { kind: 'ready', address };
      case 'unhealthy':
        return {
          kind: 'failed',
          reason: `canary container ${v.name} (${v.endpoint}) is unhealthy: ${v.healthOutput ?? 'no health output'}`,
        };
      case 'starting':
        return {
          kind: 'waiting',
          detail: `health: starting${v.healthOutput ? `; last probe: ${v.healthOutput}` : ''}`,
        };
      case 'none': {
        const probe = await httpProbe(address, svc.health);
        return probe === null ? { kind: 'ready', address } : { kind: 'waiting', detail: probe };
      }
    }
  }

  private engine(endpoint: string): ContainerDriver {
    const e = this.d.engines.find((x) => x.endpoint === endpoint);
    if (!e) throw new Error(`no docker endpoint named "${endpoint}"`);
    return e;
  }
}

/** null when the container answers as healthy, else what it answered. */
async function httpProbe(address: string, health: HealthProbe | null): Promise<string | null> {
  const path = health?.path ?? '/';
  const below = health?.expectStatusBelow ?? 500;
  try {
    const res = await fetch(`http://${address}${path}`, { signal: AbortSignal.timeout(2_000), redirect: 'manual' });
    const body = (await res.text()).slice(0, 200);
    return res.status < below ? null : `GET ${path} answered ${res.status}: ${body}`;
  } catch (e) {
    return `GET ${path} failed: ${message(e)}`;
  }
}

/** `p`, or a rejection once `ms` have passed or `signal` aborts. */
function within<T>(p: Promise<T>, ms: number, signal: AbortSignal, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out ${what}`)), Math.max(0, ms));
    onAbort = () => reject(new Error('interrupted'));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([p, bound]).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

const message = (e: unknown): string =>
  e instanceof Error ? (e.cause instanceof Error ? `${e.message} (${e.cause.message})` : e.message) : String(e);
