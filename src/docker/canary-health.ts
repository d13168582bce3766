// The health gate of new canary containers: a bounded wait until each one serves, judged by Docker's
// HEALTHCHECK when the image has one, else by an HTTP probe. The first definite failure (exited,
// vanished, unhealthy, unreachable) ends the wait at once, with a reason that names the container.
import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../domain/clock.js';
import { err, errorMessage, ok, type Result } from '../domain/errors.js';
import { logExcerpt } from './engine-logs.js';
import { addressOf, type DockerService } from './membership.js';
import type { ContainerDriver, ContainerView } from './port.js';

export interface HealthProbe {
  path: string;
  /** Statuses below this count as healthy. */
  expectStatusBelow: number;
}

/** What the gate needs of a service: where its containers listen, and its health check (or null). */
export interface GatedService {
  docker: DockerService;
  /** null: any HTTP answer below 500 on "/" counts as up. */
  health: HealthProbe | null;
}

export interface HealthGateDeps {
  engine(endpoint: string): ContainerDriver;
  clock: Clock;
  /** Between health looks. */
  pollMs: number;
}

type Look =
  { kind: 'ready'; address: string } | { kind: 'waiting'; detail: string } | { kind: 'failed'; reason: string };
/** What Docker's record alone tells (no probe): a Look, or that the container runs. */
type StateLook = Exclude<Look, { kind: 'ready' }> | { kind: 'running'; view: ContainerView };

const PROBE_TIMEOUT_MS = 2_000;
/** How many of a failed container's last log lines its reason quotes. */
const LOG_LINES = 5;
/** Restarts that make a crash loop: Docker's backoff (100 ms, doubling) brings three within a second or so. */
const CRASH_LOOP_RESTARTS = 3;

/** A restarting container's last exit (while Docker still knows it), restart count and last output. */
async function restartReason(engine: ContainerDriver, v: ContainerView): Promise<string> {
  const logs = logExcerpt(await engine.logs(v.id, LOG_LINES).catch(() => ''));
  const { count, lastExit } = v.restarts;
  const exit = lastExit === null ? '' : `last exit ${lastExit}, `;
  const restarted = `restarted ${count} time${count === 1 ? '' : 's'}`;
  return `is restarting (${exit}${restarted})${logs ? `; last output: ${logs}` : ''}`;
}

/** How a reason names a canary container. */
const named = (c: ContainerView): string => `canary container ${c.name} (${c.endpoint})`;

/**
 * What Docker's record alone says of a container: gone, crash-looping, exited, restarting for the first times
 * (waited for), or running.
 */
async function stateLook(engine: ContainerDriver, c: ContainerView): Promise<StateLook> {
  const v = await engine.inspect(c.id).catch((e: unknown) => new Error(withCause(e)));
  if (v instanceof Error) return { kind: 'waiting', detail: `inspect failed: ${v.message}` };
  if (v === null) return { kind: 'failed', reason: `${named(c)} disappeared before it was healthy` };
  // A crash loop under a restart policy looks running between exits, and without its port bound: its exit
  // code and output say what is wrong, where the address check would blame the port. A container that
  // restarted once or twice (waiting for a dependency at start, say) may still come up: the gate waits, saying
  // why; one that keeps restarting fails.
  if (v.restarts.restarting) {
    const why = await restartReason(engine, v);
    if (v.restarts.count < CRASH_LOOP_RESTARTS) return { kind: 'waiting', detail: why };
    return { kind: 'failed', reason: `${named(c)} ${why}` };
  }
  if (v.running) return { kind: 'running', view: v };
  const logs = logExcerpt(await engine.logs(v.id, LOG_LINES).catch(() => ''));
  const why = `exited with code ${v.exitCode ?? '?'}${v.error ? ` (${v.error})` : ''}`;
  return { kind: 'failed', reason: `${named(c)} ${why}${logs ? `; last output: ${logs}` : ''}` };
}

/** An error's message, and its cause's when it has one (fetch and dockerode wrap the real reason). */
export function withCause(e: unknown): string {
  return e instanceof Error && e.cause instanceof Error ? `${e.message} (${e.cause.message})` : errorMessage(e);
}

export class HealthGate {
  constructor(private readonly d: HealthGateDeps) {}

  /** The containers' addresses, in order, once every one serves; else why not (by `deadline`). */
  async awaitHealthy(
    svc: GatedService,
    created: ContainerView[],
    timeoutMs: number,
    deadline: number,
    signal: AbortSignal,
  ): Promise<Result<string[], string>> {
    const pending = new Map(created.map((c) => [c.id, { view: c, last: 'no health result yet' }]));
    const ready = new Map<string, string>();
    const maxRounds = Math.ceil(Math.max(0, deadline - this.d.clock.now()) / this.d.pollMs) + 2;
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
      // An abort ends the pause early; the next round reports it.
      await delay(this.d.pollMs, undefined, { signal }).catch(() => undefined);
    }
    const [first] = pending.values();
    if (!first) return ok(created.map((c) => ready.get(c.id) as string));
    // A container that exited (or vanished, or crash-loops) since its last look says more than that look did:
    // one more read of Docker's record for each, no probe, so the wait ends when it was due.
    for (const p of pending.values()) {
      const last = await stateLook(this.d.engine(p.view.endpoint), p.view);
      if (last.kind === 'failed') return err(last.reason);
    }
    const within = `within ${Math.round(timeoutMs / 1000)}s`;
    return err(`${named(first.view)} was not healthy ${within}: ${first.last}`);
  }

  private async look(svc: GatedService, c: ContainerView): Promise<Look> {
    const engine = this.d.engine(c.endpoint);
    const state = await stateLook(engine, c);
    if (state.kind !== 'running') return state;
    const view = state.view;
    const address = addressOf(view, svc.docker.stable, engine.publishedHost);
    if (address === null) {
      const port = svc.docker.stable.port;
      return {
        kind: 'failed',
        reason: `${named(c)} cannot be reached: no host port for ${port}/tcp and no network configured`,
      };
    }
    switch (view.health) {
      case 'healthy':
        return { kind: 'ready', address };
      case 'unhealthy': {
        // A check that printed nothing says nothing: the container's own last lines may.
        const logs = view.healthOutput ? '' : await engine.logs(view.id, LOG_LINES).catch(() => '');
        return { kind: 'failed', reason: unhealthyReason(named(c), view.healthOutput, logs) };
      }
      case 'starting':
        return {
          kind: 'waiting',
          detail: `health: starting${view.healthOutput ? `; last probe: ${view.healthOutput}` : ''}`,
        };
      case 'none': {
        const probe = await httpProbe(address, svc.health);
        return probe === null ? { kind: 'ready', address } : { kind: 'waiting', detail: probe };
      }
    }
  }
}

/**
 * Why an unhealthy container failed, never without content: its health check's last output, else
 * its last log lines, else that there was neither.
 */
export function unhealthyReason(named: string, healthOutput: string | null, logs: string): string {
  const output = healthOutput?.trim() ?? '';
  if (output !== '') return `${named} is unhealthy: ${output}`;
  const lines = logExcerpt(logs);
  if (lines !== '') return `${named} is unhealthy (its health check printed nothing); last log lines: ${lines}`;
  return `${named} is unhealthy: no health output and no log lines`;
}

/** null when the container answers as healthy, else what it answered. */
async function httpProbe(address: string, health: HealthProbe | null): Promise<string | null> {
  const path = health?.path ?? '/';
  const below = health?.expectStatusBelow ?? 500;
  try {
    const signal = AbortSignal.timeout(PROBE_TIMEOUT_MS);
    const res = await fetch(`http://${address}${path}`, { signal, redirect: 'manual' });
    const body = (await res.text()).slice(0, 200);
    return res.status < below ? null : `GET ${path} answered ${res.status}: ${body}`;
  } catch (e) {
    return `GET ${path} failed: ${withCause(e)}`;
  }
}
