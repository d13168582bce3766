// DockerFleet against an in-memory engine: what it logs when it creates or finds a canary, that each
// removed container is named once even when two callers remove the same generation, and that an
// engine that does not answer at start is a warning, not an error.
import { describe, expect, it } from 'vitest';
import { DockerFleet } from '../../../src/docker/fleet.js';
import type { LogFields, Logger, LogLevel } from '../../../src/domain/log.js';
import type { RolloutState } from '../../../src/domain/rollout.js';
import { waitFor } from '../../helpers/process.js';
import { MemoryEngine } from './fixtures/memory-engine.js';
import { imageRollout } from './fixtures/rollout.js';

interface Line {
  level: LogLevel;
  msg: string;
  fields: LogFields;
}

function capture(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  return { lines, log: (level, msg, fields = {}) => lines.push({ level, msg, fields }) };
}

const OWNER = 'veer';
const SELECTOR = { app: 'web' };

const rollout = (id: string, phase: RolloutState['phase']): RolloutState => imageRollout(id, phase);

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
