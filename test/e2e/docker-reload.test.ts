// A reload that removes a Docker-backed service mid-rollout: the service stops routing at once, its
// image rollout is aborted, and the canary containers veer created are removed as in any abort; the
// stable containers (the operator's) are left alone. `veer prune` judges by the config running now: the
// containers veer made for a service a reload removed are garbage from then on.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfigFile } from '../../src/config/load.js';
import { silentLogger } from '../../src/domain/log.js';
import { startVeer, type RunningVeer } from '../../src/main.js';
import { dockerSuite, runTestApp } from '../helpers/docker.js';
import {
  adminCall,
  containersOf,
  dockerConfigObject,
  startStable,
  useDockerApps,
  waitPhase,
} from '../helpers/docker-veer.js';
import { waitFor } from '../helpers/process.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const suite = await dockerSuite('docker-reload.test');
const d = useDockerApps();
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** veer started from a config file the test rewrites; its admin URL and a dry-run prune's container ids. */
async function fromFile(config: Record<string, unknown>) {
  const dir = await mkdtemp(join(tmpdir(), 'veer-docker-reload-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'veer.yaml');
  await writeFile(file, stringify(config));
  const loaded = await loadConfigFile(file);
  if (!loaded.ok) throw loaded.error;
  const running: RunningVeer = await startVeer(loaded.value, { log: silentLogger, configPath: file });
  cleanups.push(() => running.close());
  const admin = `http://127.0.0.1:${running.admin.port}`;
  const pruneList = async (): Promise<Array<{ id: string; reason: string }>> => {
    const r = await adminCall(admin, 'POST', '/v1/prune', { dryRun: true });
    expect(r.status).toBe(200);
    return r.body.containers;
  };
  const rewrite = async (next: Record<string, unknown>): Promise<string[]> => {
    await writeFile(file, stringify(next));
    const r = await running.reload('api');
    if (!r.ok) throw r.error;
    return r.value.removed;
  };
  return { running, admin, pruneList, rewrite };
}

suite('reload with Docker pools', () => {
  it('removing a service mid-rollout aborts it and removes its canary containers', { timeout: 120_000 }, async () => {
    const a = d.app('reload');
    const stable = await startStable(a, 1);
    const other: TestUpstream = await startUpstream('other');
    cleanups.push(() => other.close());
    const dir = await mkdtemp(join(tmpdir(), 'veer-docker-reload-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'veer.yaml');
    const keep = { name: 'keep', match: { hosts: ['keep.test'] }, stable: { targets: [other.address] } };
    const full = dockerConfigObject({
      app: a,
      owner: `t-${a}`,
      rollout: { steps: [50, 100], stepInterval: '10m' },
      service: { match: { hosts: ['web.test'] } },
      extraServices: [keep],
    });
    await writeFile(file, stringify(full));
    const loaded = await loadConfigFile(file);
    if (!loaded.ok) throw loaded.error;
    const running: RunningVeer = await startVeer(loaded.value, { log: silentLogger, configPath: file });
    cleanups.push(() => running.close());
    const admin = `http://127.0.0.1:${running.admin.port}`;
    const started = await adminCall(admin, 'POST', '/v1/services/web/rollouts', {
      canary: { image: 'veer-test-app:2' },
    });
    expect(started.status).toBe(201);
    const rollout = await waitPhase(admin, ['progressing'], 60_000);
    const canary = (await containersOf(a)).filter((c) => c.rollout === rollout.id);
    expect(canary.length).toBeGreaterThan(0);

    await writeFile(file, stringify({ ...full, services: [(full.services as unknown[])[1]] }));
    const r = await running.reload('api');
    expect(r.ok && r.value.removed).toEqual(['web']);
    const web = await fetch(`http://127.0.0.1:${running.data.port}/`, { headers: { host: 'web.test' } });
    expect(web.status).toBe(404);
    await web.arrayBuffer();
    await waitFor(async () => (await containersOf(a)).every((c) => c.rollout !== rollout.id), {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'the canary containers to be removed',
    });
    const res = await fetch(`${admin}/v1/events?limit=200`, { headers: { accept: 'application/json' } });
    const { events } = (await res.json()) as { events: Array<{ service: string; kind: string }> };
    const kinds = events.filter((e) => e.service === 'web');
    expect(kinds.map((e) => e.kind)).toContain('aborted');
    const left = await containersOf(a);
    expect(left.map((c) => c.id)).toEqual(stable.map((s) => s.id));
    expect(left[0]?.state).toBe('running');
  });

  it('veer prune lists the containers veer made for a service a reload removed', { timeout: 60_000 }, async () => {
    const a = d.app('rmprune');
    const owner = `t-${a}`;
    await startStable(a, 1);
    // A promoted clone of "api" (what a finished image rollout leaves): the service's stable generation.
    const apiApp = d.app('rmprune-api');
    const clone = await runTestApp({
      labels: { app: apiApp, 'veer.owner': owner, 'veer.service': 'api', 'veer.rollout': 'r-promoted' },
    });
    const api = {
      name: 'api',
      match: { hosts: ['api.test'] },
      stable: { docker: { selector: { app: apiApp }, port: 8080 } },
    };
    const full = dockerConfigObject({
      app: a,
      owner,
      service: { match: { hosts: ['web.test'] } },
      extraServices: [api],
    });
    const v = await fromFile(full);
    expect((await v.pruneList()).map((c) => c.id)).not.toContain(clone.id);

    expect(await v.rewrite({ ...full, services: [(full.services as unknown[])[0]] })).toEqual(['api']);
    const listed = await v.pruneList();
    expect(listed).toEqual([
      expect.objectContaining({ id: clone.id, reason: 'service "api" is no longer configured' }),
    ]);
    const removed = await adminCall(v.admin, 'POST', '/v1/prune', { dryRun: false });
    expect(removed.body.containers).toEqual([expect.objectContaining({ id: clone.id, removed: true })]);
    expect(await containersOf(apiApp)).toEqual([]);
  });

  it(
    'so does the prune of a veer without Docker pools (its Docker side made on demand)',
    { timeout: 60_000 },
    async () => {
      const a = d.app('rmprune-static');
      const owner = `t-${a}`;
      const other: TestUpstream = await startUpstream('other');
      cleanups.push(() => other.close());
      // What a veer of this owner made for "api" when its pools were Docker's, before a restart made it static.
      const left = await runTestApp({ labels: { app: a, 'veer.owner': owner, 'veer.service': 'api' } });
      const service = (name: string) => ({
        name,
        match: { hosts: [`${name}.test`] },
        stable: { targets: [other.address] },
      });
      const config = { ...dockerConfigObject({ app: a, owner }), services: [service('keep'), service('api')] };
      const v = await fromFile(config);
      expect(await v.pruneList()).toEqual([]);
      expect(await v.rewrite({ ...config, services: [service('keep')] })).toEqual(['api']);
      expect(await v.pruneList()).toEqual([
        expect.objectContaining({ id: left.id, reason: 'service "api" is no longer configured' }),
      ]);
    },
  );
});
