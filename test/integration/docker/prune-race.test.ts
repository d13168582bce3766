// `veer prune` racing a rollout's start against a real dockerd: the janitor reads the rollout records,
// then lists the engine; a canary created in between belongs to a rollout it has not heard of and must
// not be pruned as an orphan. The janitor's listing is held (as a slow engine would) while the canary is
// created. Skipped when no engine answers, unless VEER_REQUIRE_DOCKER=1.
import { randomBytes } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { Janitor } from '../../../src/docker/janitor.js';
import type { ContainerDriver } from '../../../src/docker/port.js';
import { systemClock } from '../../../src/domain/clock.js';
import { dockerSuite, removeContainer, runTestApp } from '../../helpers/docker.js';
import { withTimeout } from '../../helpers/process.js';
import { containerExists as exists, localEngine } from './local-engine.js';

const suite = await dockerSuite('docker/prune-race.test');
const OWNER = `t-prune-race-${randomBytes(3).toString('hex')}`;
const made: string[] = [];

/** A container of this owner's service "web", of generation `rollout`. */
async function ownContainer(rollout: string): Promise<string> {
  const labels = { app: OWNER, 'veer.owner': OWNER, 'veer.service': 'web', 'veer.rollout': rollout };
  const app = await runTestApp({ labels, waitReady: false });
  made.push(app.id);
  return app.id;
}

afterAll(async () => {
  await Promise.all(made.map((id) => removeContainer(id)));
});

suite('veer prune while a rollout starts', () => {
  it("spares the new rollout's canary created after the records were read; prunes the old orphan", async () => {
    const real = localEngine();
    let listing!: () => void;
    const listed = new Promise<void>((r) => (listing = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    // The real engine, its owner-wide listing (the janitor's) held until the canary exists.
    const held: ContainerDriver = Object.create(real) as ContainerDriver;
    held.list = async (opts) => {
      listing();
      await released;
      return real.list(opts);
    };
    const old = await ownContainer('r-old');
    const janitor = new Janitor({
      engines: [held],
      owner: OWNER,
      services: () => ['web'],
      // No rollout on record when the claims are taken: only the unlabelled generation is stable.
      latest: () => null,
      generationsOf: () => null,
      stopTimeoutS: 1,
      log: { log: () => undefined },
      clock: systemClock,
      refresh: async () => undefined,
    });
    try {
      const pruned = janitor.prune(false);
      await withTimeout(listed, 10_000, 'the janitor listing the engine');
      const canary = await ownContainer('r-new');
      release();
      const report = await withTimeout(pruned, 30_000, 'prune');
      expect(report.containers.map((c) => c.id)).toEqual([old]);
      expect(await exists(old)).toBe(false);
      expect(await exists(canary)).toBe(true);
    } finally {
      release();
      real.close();
    }
  });
});
