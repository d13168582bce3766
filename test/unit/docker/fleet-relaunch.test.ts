// A launch repeated after a restart, over two engines whose stable containers changed meanwhile
// (compose recreated one under another name): canary names are unique per engine only, so picking
// each canary's engine afresh by its index would create a second canary of the same name elsewhere,
// and the rollout would run more canaries than it asked for (every one of them routed as the canary).
import { describe, expect, it } from 'vitest';
import { DockerFleet } from '../../../src/docker/fleet.js';
import { MemoryEngine } from './fixtures/memory-engine.js';
import { imageRollout } from './fixtures/rollout.js';

const SELECTOR = { app: 'web' };

describe('DockerFleet.launch again after a restart', () => {
  it("reuses the rollout's canaries where they are, never making more than count", async () => {
    const a = new MemoryEngine('a');
    const b = new MemoryEngine('b', 31_000);
    const s = imageRollout('r7000000-relaunch', 'starting', { count: 2 });
    const fleet = new DockerFleet({
      engines: [a, b],
      services: new Map([
        [
          'web',
          { docker: { name: 'web', stable: { selector: SELECTOR, port: 8080 }, manageCanary: true }, health: null },
        ],
      ]),
      owner: 'veer',
      stopTimeoutS: 1,
      latest: () => s,
      clock: { now: () => Date.now() },
      log: { log: () => undefined },
      pollMs: 1,
    });
    const stableA = a.add('web-1', SELECTOR);
    b.add('web-2', SELECTOR);
    const signal = new AbortController().signal;
    const first = await fleet.launch(s, Date.now() + 5_000, signal);
    expect(first.ok).toBe(true);
    const canaries = async (): Promise<string[]> =>
      [...(await a.list({ all: true })), ...(await b.list({ all: true }))]
        .filter((c) => c.labels['veer.rollout'] === s.id)
        .map((c) => `${c.endpoint}/${c.name}`)
        .sort();
    expect(await canaries()).toEqual(['a/web-r7000000-1', 'b/web-r7000000-2']);
    // While veer was down, compose recreated a's stable container under a name sorted after b's.
    a.containers.delete(stableA.id);
    a.add('web-3', SELECTOR);
    const again = await fleet.launch(s, Date.now() + 5_000, signal);
    expect(again).toEqual(first);
    expect(await canaries()).toEqual(['a/web-r7000000-1', 'b/web-r7000000-2']);
    // An engine that does not answer is skipped: a launch goes on with the engines that do.
    a.down = true;
    expect((await fleet.launch(s, Date.now() + 5_000, signal)).ok).toBe(true);
  });
});
