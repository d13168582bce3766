// `veer prune` racing a rollout's start against a real dockerd: a rollout is stored, then its canary is
// created, while the janitor is at work; the canary must not be pruned as an orphan of a rollout the
// janitor had not heard of. The janitor's listing is held (as a slow engine would) while the rollout starts,
// and the engine's clock lags veer's by an hour (its Created times read an hour early), so a cutoff by
// creation time alone cannot spare the canary. Skipped when no engine answers, unless VEER_REQUIRE_DOCKER=1.
import { randomBytes } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { Janitor } from '../../../src/docker/janitor.js';
import type { ContainerDriver } from '../../../src/docker/port.js';
import type { RolloutState } from '../../../src/domain/rollout.js';
import { systemClock } from '../../../src/domain/clock.js';
import { dockerSuite, removeContainer, runTestApp } from '../../helpers/docker.js';
import { withTimeout } from '../../helpers/process.js';
import { imageRollout } from '../../unit/docker/fixtures/rollout.js';
import { containerExists as exists, localEngine } from './local-engine.js';

const suite = await dockerSuite('docker/prune-race.test');
const OWNER = `t-prune-race-${randomBytes(3).toString('hex')}`;
const made: string[] = [];
const HOUR = 3_600_000;

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
  it("spares the new rollout's canary, whatever the engine's clock says; prunes the old orphan", async () => {
    const real = localEngine();
    let listing!: () => void;
    const listed = new Promise<void>((r) => (listing = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    // The real engine, its owner-wide listing (the janitor's) held until the canary exists, its clock lagging.
    const held: ContainerDriver = Object.create(real) as ContainerDriver;
    held.list = async (opts) => {
      listing();
      await released;
      return (await real.list(opts)).map((c) => ({ ...c, created: c.created - HOUR }));
    };
    let stored: RolloutState | null = null;
    const old = await ownContainer('r-old');
    const janitor = new Janitor({
      engines: [held],
      owner: OWNER,
      services: () => ['web'],
      // The store as the janitor reads it: no rollout until r-new is stored, just before its canary is made.
      latest: () => stored,
      generationsOf: () => null,
      stopTimeoutS: 1,
      log: { log: () => undefined },
      clock: systemClock,
      refresh: async () => undefined,
    });
    try {
      const pruned = janitor.prune(false);
      await withTimeout(listed, 10_000, 'the janitor listing the engine');
      stored = imageRollout('r-new', 'progressing');
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
