// Garbage collection and several engines against the real Docker engine: `veer prune` (the CLI, as a
// user runs it) removes this installation's containers of a service no longer in the config and
// leaves an unlabelled container and another installation's container alone; `docker.gc: true` does
// the same at start; an endpoint that is down is reported and does not stop the others.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { docker, dockerSuite, runTestApp } from '../helpers/docker.js';
import { adminCall, containersOf, startStable, useDockerApps, waitPoolSize } from '../helpers/docker-veer.js';
import { waitFor } from '../helpers/process.js';
import { CLI_ENTRY } from '../helpers/cli-entry.js';

const run = promisify(execFile);
const suite = await dockerSuite('docker-gc.test');

const OWNER = `t-gc-${process.pid}`;
const d = useDockerApps();
const app = d.app;

/** What a veer of this owner created for a service "api" that has since left the config. */
const leftover = (a: string, owner: string): Promise<{ id: string }> =>
  runTestApp({
    labels: { app: a, 'veer.owner': owner, 'veer.service': 'api', 'veer.pool': 'canary', 'veer.rollout': 'r-old' },
  });

async function cli(admin: string, ...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run('node', [...CLI_ENTRY, ...args, '--admin', admin], {
      timeout: 60_000,
    });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: x.code ?? -1, out: `${x.stdout ?? ''}${x.stderr ?? ''}` };
  }
}

const exists = async (id: string): Promise<boolean> => (await containersOfId(id)) !== null;
async function containersOfId(id: string): Promise<string | null> {
  try {
    return (await docker().getContainer(id).inspect()).State.Status;
  } catch {
    return null;
  }
}

suite('veer prune and docker.gc', () => {
  it("veer prune --dry-run lists, veer prune removes, only this owner's orphans", { timeout: 90_000 }, async () => {
    const a = app('prune');
    const owner = `${OWNER}-prune`;
    const orphan = await leftover(a, owner);
    const unlabelled = await runTestApp({ labels: { app: a, 'veer.service': 'api' } });
    const foreign = await leftover(a, `${OWNER}-other`);
    const v = await d.veer({ app: app('prune-web'), owner });

    const dry = await cli(v.admin, 'prune', '--dry-run');
    expect(dry.code, dry.out).toBe(0);
    expect(dry.out).toContain(`would remove`);
    expect(dry.out).toContain(orphan.id.slice(0, 12));
    expect(dry.out).toContain('service "api" is no longer configured');
    expect(dry.out).not.toContain(unlabelled.id.slice(0, 12));
    expect(dry.out).not.toContain(foreign.id.slice(0, 12));
    expect(await exists(orphan.id)).toBe(true);

    const real = await cli(v.admin, 'prune');
    expect(real.code, real.out).toBe(0);
    expect(real.out).toContain(`removed`);
    expect(await exists(orphan.id)).toBe(false);
    expect(await containersOfId(unlabelled.id)).toBe('running');
    expect(await containersOfId(foreign.id)).toBe('running');
    expect((await cli(v.admin, 'prune', '--dry-run')).out).toContain('nothing to prune');
  });

  it('docker.gc: true prunes at start', { timeout: 60_000 }, async () => {
    const a = app('gc');
    const orphan = await leftover(a, `${OWNER}-gc`);
    const unlabelled = await runTestApp({ labels: { app: a } });
    await d.veer({ app: app('gc-web'), owner: `${OWNER}-gc`, docker: { gc: true } });
    await waitFor(async () => !(await exists(orphan.id)), {
      timeoutMs: 20_000,
      intervalMs: 200,
      what: 'the orphan to be removed at start',
    });
    expect(await containersOfId(unlabelled.id)).toBe('running');
  });

  it(
    "an endpoint that is down is reported; the pool keeps the other engine's containers",
    { timeout: 60_000 },
    async () => {
      const a = app('twoeng');
      await startStable(a, 1);
      const v = await d.veer({
        app: a,
        owner: `${OWNER}-engines`,
        docker: {
          endpoints: [
            { name: 'local', host: 'unix:///var/run/docker.sock' },
            { name: 'gone', host: 'unix:///tmp/veer-no-such-engine.sock' },
          ],
        },
      });
      await waitPoolSize(v.admin, 'stable', 1);
      const res = await fetch(v.url, { signal: AbortSignal.timeout(5_000) });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      const prune = await adminCall(v.admin, 'POST', '/v1/prune', { dryRun: true });
      expect(prune.status).toBe(200);
      expect(prune.body.unreachable).toEqual([{ endpoint: 'gone', error: expect.stringContaining('unreachable') }]);
      expect((await containersOf(a)).length).toBe(1);
    },
  );

  it('prune answers a clear 400 for a bad body', async () => {
    const v = await d.veer({ app: app('body'), owner: `${OWNER}-body` });
    const r = await adminCall(v.admin, 'POST', '/v1/prune', { dryRun: 'yes' });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain('dryRun');
    // Removing is never what an empty body means.
    const empty = await adminCall(v.admin, 'POST', '/v1/prune', {});
    expect(empty.status).toBe(400);
    expect(empty.body.error.message).toContain('dryRun: expected true (list only) or false (remove)');
  });
});
