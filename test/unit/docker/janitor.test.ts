// Garbage collection as the Docker stack assembles it (the fleet tells the Docker services' generations),
// against engines in memory: an engine that does not answer is listed once per prune, not once more per
// service (each such call waits out the engine's timeout), and the services' generations are asked at once.
import { describe, expect, it, vi } from 'vitest';
import { parseConfigObject } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { DockerStack } from '../../../src/docker/stack.js';
import type { ContainerView } from '../../../src/docker/port.js';
import { MemoryEngine } from './fixtures/memory-engine.js';

const OWNER = 'veer-test';
const SERVICES = ['a', 'b', 'c'];

function config(): Config {
  const r = parseConfigObject(
    {
      listen: '127.0.0.1:0',
      admin: { listen: '127.0.0.1:0' },
      docker: {
        owner: OWNER,
        endpoints: [
          { name: 'local', host: 'unix:///var/run/docker.sock' },
          { name: 'far', host: 'unix:///far/docker.sock' },
        ],
      },
      services: SERVICES.map((s) => ({
        name: s,
        match: { hosts: [`${s}.test`] },
        stable: { docker: { selector: { app: s }, port: 8080 } },
      })),
    },
    {},
  );
  if (!r.ok) throw r.error;
  return r.value;
}

/** An engine whose every listing is counted; `held`, when set, keeps the selectors' listings waiting. */
class CountingEngine extends MemoryEngine {
  calls = 0;
  held: Promise<void> | null = null;
  waiting = 0;

  override async list(opts: { all: boolean; labels?: Record<string, string> }): Promise<ContainerView[]> {
    this.calls++;
    if (this.held !== null && opts.labels?.['app'] !== undefined) {
      this.waiting++;
      await this.held;
    }
    return super.list(opts);
  }
}

function stackOf(local: MemoryEngine, far: MemoryEngine): DockerStack {
  return new DockerStack([local, far], config(), {
    clock: { now: () => Date.now() },
    log: { log: () => undefined },
    latest: () => null,
    refresh: async () => undefined,
  });
}

describe('veer prune with several engines', () => {
  it('lists an engine that does not answer once, and keeps the Docker services its silence hides', async () => {
    const local = new CountingEngine('local');
    const far = new CountingEngine('far', 31_000);
    far.down = true;
    for (const s of SERVICES) local.add(`${s}-1`, { app: s, 'veer.owner': OWNER, 'veer.service': s });
    const gone = local.add('old-1', { 'veer.owner': OWNER, 'veer.service': 'old', 'veer.rollout': 'r1' });

    const report = await stackOf(local, far).janitor.prune(true);

    expect(far.calls).toBe(1);
    expect(report.unreachable).toEqual([{ endpoint: 'far', error: expect.stringContaining('far') }]);
    // Their generations cannot be told without "far": their containers stay; a removed service's go.
    expect(report.containers.map((c) => c.id)).toEqual([gone.id]);
  });

  it("asks the services' generations at once, not one after another", async () => {
    const local = new CountingEngine('local');
    const far = new CountingEngine('far', 31_000);
    let release!: () => void;
    local.held = new Promise<void>((r) => (release = r));
    for (const s of SERVICES) local.add(`${s}-1`, { app: s, 'veer.owner': OWNER, 'veer.service': s });

    const pruned = stackOf(local, far).janitor.prune(true);
    try {
      await vi.waitFor(() => expect(local.waiting).toBe(SERVICES.length), { timeout: 2_000 });
    } finally {
      release();
    }
    const report = await pruned;
    expect(report.unreachable).toEqual([]);
    expect(report.containers).toEqual([]);
  });
});
