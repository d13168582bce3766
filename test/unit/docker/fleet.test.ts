// DockerFleet against an in-memory engine: what it logs when it creates or finds a canary, that each
// removed container is named once even when two callers remove the same generation, and that an
// engine that does not answer at start is a warning, not an error.
import type { ContainerInspectInfo } from 'dockerode';
import { describe, expect, it } from 'vitest';
import { emptyStats } from '../../../src/analysis/judge.js';
import { rolloutPolicySchema } from '../../../src/config/schema.js';
import { EngineErrors } from '../../../src/docker/engine-errors.js';
import { DockerFleet } from '../../../src/docker/fleet.js';
import type {
  CloneTemplate,
  ContainerDriver,
  ContainerView,
  CreateSpec,
  ImageConfig,
  RetireResult,
} from '../../../src/docker/port.js';
import type { LogFields, Logger, LogLevel } from '../../../src/domain/log.js';
import type { RolloutState } from '../../../src/domain/rollout.js';
import { newRollout } from '../../../src/rollout/machine.js';
import { waitFor } from '../../helpers/process.js';

interface Line {
  level: LogLevel;
  msg: string;
  fields: LogFields;
}

function capture(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  return { lines, log: (level, msg, fields = {}) => lines.push({ level, msg, fields }) };
}

const IMAGE: ImageConfig = {
  id: 'sha256:1',
  env: [],
  cmd: null,
  entrypoint: null,
  labels: {},
  workingDir: '',
  user: '',
  healthcheck: null,
  stopSignal: null,
  exposedPorts: { '8080/tcp': {} },
};

function view(id: string, name: string, labels: Record<string, string>, port: number): ContainerView {
  return {
    endpoint: 'local',
    id,
    name,
    image: 'app:1',
    labels,
    running: true,
    health: 'healthy',
    ports: { '8080/tcp': [{ hostIp: '127.0.0.1', hostPort: port }] },
    networks: {},
    networkMode: 'bridge',
    autoRemove: false,
    restartPolicy: 'no',
    healthOutput: null,
    exitCode: null,
    error: '',
    created: 0,
  };
}

/** One engine in memory. `down`: every call fails as an unreachable engine's would. */
class MemoryEngine implements ContainerDriver {
  readonly endpoint = 'local';
  readonly publishedHost = '127.0.0.1';
  readonly containers = new Map<string, ContainerView>();
  /** Images the engine has (an undo needs its image there). */
  readonly images = new Set(['app:1', 'app:2']);
  down = false;
  /** Resolves a retire; tests hold it to make two removals overlap. */
  retireGate: Promise<void> = Promise.resolve();
  /** Listings answered so far (each retire lists its generation first). */
  lists = 0;
  private next = 1;
  private readonly errors = new EngineErrors('local', 'unix:///var/run/docker.sock');

  add(name: string, labels: Record<string, string>): ContainerView {
    const c = view(`c${this.next}`, name, labels, 30_000 + this.next++);
    this.containers.set(c.id, c);
    return c;
  }

  async list(opts: { all: boolean; labels?: Record<string, string> }): Promise<ContainerView[]> {
    this.check();
    this.lists++;
    const want = Object.entries(opts.labels ?? {});
    return [...this.containers.values()].filter((c) => want.every(([k, v]) => c.labels[k] === v));
  }

  async inspect(id: string): Promise<ContainerView | null> {
    this.check();
    return this.containers.get(id) ?? [...this.containers.values()].find((c) => c.name === id) ?? null;
  }

  async template(containerId: string): Promise<CloneTemplate> {
    this.check();
    const c = this.containers.get(containerId);
    if (!c) throw new Error('no such container');
    const container = {
      Id: c.id,
      Name: `/${c.name}`,
      Config: { Labels: c.labels, Env: [], Hostname: c.id },
      HostConfig: { NetworkMode: 'bridge', PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
      NetworkSettings: { Networks: {} },
    } as unknown as ContainerInspectInfo;
    return { container, oldImage: IMAGE, newImage: IMAGE };
  }

  async envOf(id: string): Promise<string[] | null> {
    this.check();
    return this.containers.has(id) ? ['PATH=/bin', `NAME=${this.containers.get(id)?.name}`] : null;
  }

  async hasImage(ref: string): Promise<boolean> {
    this.check();
    return this.images.has(ref);
  }

  async run(spec: CreateSpec): Promise<ContainerView> {
    this.check();
    const found = [...this.containers.values()].find((c) => c.name === spec.options.name);
    return found ?? this.add(spec.options.name, (spec.options.Labels ?? {}) as Record<string, string>);
  }

  async retire(id: string): Promise<RetireResult> {
    this.check();
    await this.retireGate;
    return this.containers.delete(id) ? 'removed' : 'gone';
  }

  async logs(): Promise<string> {
    return '';
  }

  watch(): () => void {
    return () => undefined;
  }

  close(): void {}

  private check(): void {
    if (this.down) throw this.errors.unreachable(Object.assign(new Error('connect ENOENT'), { code: 'ENOENT' }));
  }
}

const OWNER = 'veer';
const SELECTOR = { app: 'web' };

function rollout(id: string, phase: RolloutState['phase']): RolloutState {
  const s = newRollout(
    {
      id,
      service: 'web',
      strategy: 'canary',
      policy: rolloutPolicySchema.parse({}),
      canaryTargets: [],
      stableTargets: [],
      stats: emptyStats(),
    },
    0,
  );
  return { ...s, phase, docker: { image: 'app:2', env: [], count: 1, stableGeneration: null } };
}

function setup(latest: RolloutState | null = null): { engine: MemoryEngine; fleet: DockerFleet; log: Line[] } {
  const engine = new MemoryEngine();
  const log = capture();
  const fleet = new DockerFleet({
    engines: [engine],
    services: new Map([
      [
        'web',
        { docker: { name: 'web', stable: { selector: SELECTOR, port: 8080 }, manageCanary: true }, health: null },
      ],
    ]),
    owner: OWNER,
    stopTimeoutS: 1,
    latest: () => latest,
    clock: { now: () => Date.now() },
    log,
    pollMs: 1,
  });
  return { engine, fleet, log: log.lines };
}

const canaryLabels = (rolloutId: string): Record<string, string> => ({
  ...SELECTOR,
  'veer.service': 'web',
  'veer.rollout': rolloutId,
  'veer.owner': OWNER,
});

describe('DockerFleet: canary containers', () => {
  it('logs "created" for a new container and "reused" for one an earlier attempt left', async () => {
    const s = rollout('r2000000', 'starting');
    const { engine, fleet, log } = setup(s);
    engine.add('web-1', SELECTOR);
    const first = await fleet.launch(s, Date.now() + 5_000, new AbortController().signal);
    expect(first.ok).toBe(true);
    // A restarted veer launches the same rollout again: the container exists by name.
    const again = await fleet.launch(s, Date.now() + 5_000, new AbortController().signal);
    expect(again).toEqual(first);
    expect(log.filter((l) => l.msg.endsWith('canary container')).map((l) => [l.msg, l.fields.container])).toEqual([
      ['created canary container', 'web-r2000000-1'],
      ['reused canary container', 'web-r2000000-1'],
    ]);
    const clone = [...engine.containers.values()].find((c) => c.name === 'web-r2000000-1');
    expect(clone?.labels).not.toHaveProperty('veer.pool');
    expect(clone?.labels).toMatchObject({ 'veer.rollout': 'r2000000', 'veer.owner': OWNER });
  });
});

describe('DockerFleet: what an undo needs', () => {
  it('describes a generation (first container, count); names the endpoints lacking an image', async () => {
    const { engine, fleet } = setup();
    expect(await fleet.describe('web', null)).toBeNull();
    engine.add('web-2', SELECTOR);
    engine.add('web-1', SELECTOR);
    const first = [...engine.containers.values()].find((c) => c.name === 'web-1');
    expect(await fleet.describe('web', null)).toEqual({
      image: first?.image,
      env: ['PATH=/bin', 'NAME=web-1'],
      count: 2,
    });
    expect(await fleet.lacking('web', null, 'app:1')).toEqual([]);
    engine.images.delete('app:1');
    expect(await fleet.lacking('web', null, 'app:1')).toEqual(['local']);
    // No container of that generation runs: no engine to ask.
    expect(await fleet.lacking('web', 'r9', 'app:1')).toEqual([]);
  });
});

describe('DockerFleet: removals', () => {
  it('names each removed container once when two callers retire the same generation at once', async () => {
    const { engine, fleet, log } = setup(rollout('r2', 'rolling-back'));
    engine.add('web-r2-1', canaryLabels('r2'));
    engine.add('web-r2-2', canaryLabels('r2'));
    let release = (): void => undefined;
    engine.retireGate = new Promise<void>((r) => (release = r));
    // The launch that ended and the rollback's retirement both remove the canaries.
    const listed = engine.lists;
    const both = Promise.all([fleet.retire('web', 'r2'), fleet.retire('web', 'r2')]);
    // Both callers have listed the generation and reached the removals before the gate opens.
    await waitFor(() => engine.lists >= listed + 2, { timeoutMs: 2_000, intervalMs: 1, what: 'both retires to list' });
    release();
    await both;
    const removed = log.filter((l) => l.msg === 'removed containers');
    expect(removed.flatMap((l) => l.fields.containers as string[])).toEqual(['web-r2-1', 'web-r2-2']);
    expect(engine.containers.size).toBe(0);
    // Once removed, a later retire finds nothing and says nothing.
    await fleet.retire('web', 'r2');
    expect(log.filter((l) => l.msg === 'removed containers')).toHaveLength(1);
  });

  it('reconcile removes leftovers of generations nobody claims, naming each', async () => {
    const { engine, fleet, log } = setup(rollout('r3', 'succeeded'));
    engine.add('web-r3-1', canaryLabels('r3'));
    engine.add('web-r1-1', canaryLabels('r1'));
    expect(await fleet.reconcile('web')).toBe(1);
    expect(log.filter((l) => l.msg === 'removed a leftover container').map((l) => l.fields.container)).toEqual([
      'web-r1-1',
    ]);
  });

  it('reconcile with an unreachable engine: one warning with the reason, 0, no error', async () => {
    const { engine, fleet, log } = setup(rollout('r3', 'succeeded'));
    engine.down = true;
    expect(await fleet.reconcile('web')).toBe(0);
    expect(log.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'leftover containers not checked: docker does not answer'],
    ]);
    expect(log[0]?.fields.error).toMatch(/docker endpoint "local" .* is unreachable: connect ENOENT/);
  });

  it('reconcile rethrows what is not an unreachable engine', async () => {
    const { engine, fleet } = setup(rollout('r3', 'succeeded'));
    engine.add('web-r1-1', canaryLabels('r1'));
    engine.retire = async () => Promise.reject(new Error('boom'));
    await expect(fleet.reconcile('web')).rejects.toThrow('boom');
  });
});
