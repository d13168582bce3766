// A crashed decider resumes mid-rollout: `veer start` as a child process with the file store, killed
// with SIGKILL while the rollout is at step 3 of 5, started again with the same command. The rollout
// must come back at step 3 (same id, same step clock), then finish without repeating or skipping a step.
// And the config in force at the restart decides: a rollout started under `onRestart: resume` is rolled
// back when veer restarts with `onRestart: rollback`.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ServiceStatus } from '../../../src/api/ports.js';
import { isTerminal, type RolloutEvent } from '../../../src/domain/rollout.js';
import { exited, freePort, spawnTracked, stopChild, waitFor, withTimeout } from '../../helpers/process.js';
import { startTraffic } from '../../helpers/traffic.js';
import { http, service, useHarness } from '../../helpers/veer.js';
import { CLI_ENTRY } from '../../helpers/cli-entry.js';

const h = useHarness();

const ROOT = new URL('../../../', import.meta.url).pathname;
// maxLatencyRatio 5: ~1 ms loopback latencies make the 1.5× p99 ratio a test of CPU noise (see canary.test.ts).
const POLICY = {
  steps: [10, 20, 30, 50, 100],
  stepInterval: '1500ms',
  analysisInterval: '250ms',
  minRequests: 20,
  drainTimeout: '2s',
  maxLatencyRatio: 5,
};

interface Veer {
  child: ChildProcess;
  output: () => string;
}

function spawnVeer(config: string): Veer {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VEER_')));
  const child = spawnTracked(process.execPath, [...CLI_ENTRY, 'start', '-c', config], {
    cwd: ROOT,
    env,
  });
  let out = '';
  const keep = (c: Buffer): void => {
    out = (out + c.toString()).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  h.defer(() => stopChild(child));
  return { child, output: () => out };
}

async function getJson<T>(url: string): Promise<T> {
  const r = await http(url, { timeoutMs: 2_000 });
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${r.text}`);
  return JSON.parse(r.text) as T;
}

/** One veer installation in a temporary directory: its config file (rewritten by `configure`) and file store. */
interface Installation {
  config: string;
  stateFile: string;
  dataUrl: string;
  adminUrl: string;
  configure(policy: Record<string, unknown>): Promise<void>;
  status(): Promise<ServiceStatus>;
  events(): Promise<RolloutEvent[]>;
  ready(v: Veer): Promise<void>;
  /** Starts a rollout of `web` to the canary address; its id. */
  startRollout(canary: string): Promise<string>;
}

async function installation(stable: string): Promise<Installation> {
  const dir = await mkdtemp(join(tmpdir(), 'veer-restart-'));
  h.defer(() => rm(dir, { recursive: true, force: true }));
  const [dataPort, adminPort] = [await freePort(), await freePort()];
  const config = join(dir, 'veer.yaml');
  const stateFile = join(dir, 'state.json');
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  return {
    config,
    stateFile,
    dataUrl: `http://127.0.0.1:${dataPort}`,
    adminUrl,
    configure: (policy) =>
      writeFile(
        config,
        stringify({
          listen: `127.0.0.1:${dataPort}`,
          admin: { listen: `127.0.0.1:${adminPort}` },
          state: { store: 'file', path: stateFile },
          services: [service('web', [stable], [], { rollout: policy })],
        }),
      ),
    status: () => getJson<ServiceStatus>(`${adminUrl}/v1/services/web`),
    events: async () =>
      (await getJson<{ events: RolloutEvent[] }>(`${adminUrl}/v1/services/web/events?limit=1000`)).events,
    ready: async (v) => {
      await waitFor(async () => (await http(`${adminUrl}/readyz`, { timeoutMs: 1_000 })).status === 200, {
        timeoutMs: 20_000,
        intervalMs: 100,
        what: `veer ready (${v.output()})`,
      });
    },
    startRollout: async (canary) => {
      const start = await http(`${adminUrl}/v1/services/web/rollouts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ canary: { targets: [canary] } }),
      });
      expect(start.status, start.text).toBe(201);
      return (JSON.parse(start.text) as { id: string }).id;
    },
  };
}

describe('restart in the middle of a rollout', () => {
  it('kill -9 at step 3 and restart: resumes at step 3 and finishes with no step repeated or skipped', async () => {
    const stable = await h.upstream('stable');
    const canary = await h.upstream('canary');
    const inst = await installation(stable.address);
    await inst.configure(POLICY);
    const { config, stateFile, dataUrl, status, events, ready } = inst;

    const first = spawnVeer(config);
    await ready(first);
    const id = await inst.startRollout(canary.address);

    // SIGKILL the moment the rollout reaches step index 2 (30%): no graceful shutdown, no last write.
    let before: ServiceStatus | null = null;
    const t1 = startTraffic({
      url: dataUrl,
      rps: 200,
      maxMs: 25_000,
      pollMs: 20,
      until: async () => {
        const s = await status();
        if (s.rollout?.step !== 2) return false;
        first.child.kill('SIGKILL');
        before = s;
        return true;
      },
    });
    h.defer(() => t1.stop().catch(() => undefined));
    expect((await t1.done).stoppedBy).toBe('predicate');
    await withTimeout(exited(first.child), 5_000, 'the killed veer to exit');
    expect(first.child.signalCode).toBe('SIGKILL');
    const killedAt = before as ServiceStatus | null;
    expect(killedAt?.rollout).toMatchObject({ id, phase: 'progressing', step: 2, weight: 30 });
    expect(JSON.parse(await readFile(stateFile, 'utf8'))).toBeTruthy();

    const second = spawnVeer(config);
    await ready(second);
    const resumed = await status();
    expect(resumed.rollout).toMatchObject({
      id,
      phase: 'progressing',
      step: 2,
      weight: 30,
      startedAt: killedAt?.rollout?.startedAt,
      stepStartedAt: killedAt?.rollout?.stepStartedAt,
    });
    expect(resumed.weight).toBe(30);
    expect(resumed.pools.canary.targets.map((t) => t.id)).toEqual([canary.address]);
    expect(resumed.pools.stable.targets.map((t) => t.id)).toEqual([stable.address]);

    const t2 = startTraffic({
      url: dataUrl,
      rps: 200,
      maxMs: 30_000,
      until: async () => {
        const r = (await status()).rollout;
        return r !== null && isTerminal(r.phase);
      },
    });
    h.defer(() => t2.stop().catch(() => undefined));
    const report = await t2.done;
    expect(report.stoppedBy, second.output()).toBe('predicate');
    expect(report.failures).toBe(0);

    const done = await status();
    expect(done.rollout).toMatchObject({ id, phase: 'succeeded' });
    expect(done.pools.stable.targets.map((t) => t.id)).toEqual([canary.address]);
    expect(done.pools.canary.targets).toEqual([]);
    // The restarted process saw only what came after step 3: step 4 (50%, the last below 100%), then
    // the promotion.
    const es = await events();
    expect(es.filter((e) => e.kind !== 'analysis').map((e) => e.kind)).toEqual(['step', 'promoting', 'succeeded']);
    expect(es.filter((e) => e.kind === 'step').map((e) => e.weight)).toEqual([50]);
    expect(es.filter((e) => e.kind === 'step').map((e) => e.message)).toEqual([expect.stringMatching(/^step 4\/5/)]);
    expect(new Set(es.map((e) => e.rolloutId))).toEqual(new Set([id]));
    // Its own waits: traffic up to 25 s and 30 s, two starts up to 20 s each, the exit 5 s (28 s in a loaded CI).
  }, 120_000);

  it('started under onRestart: resume, restarted with onRestart: rollback in the config: rolls back', async () => {
    const stable = await h.upstream('stable');
    const canary = await h.upstream('canary');
    const inst = await installation(stable.address);
    // Slow steps: the rollout is still at its first step when veer is killed.
    const policy = { ...POLICY, stepInterval: '60s', onRestart: 'resume' };
    await inst.configure(policy);

    const first = spawnVeer(inst.config);
    await inst.ready(first);
    const id = await inst.startRollout(canary.address);
    await waitFor(async () => (await inst.status()).rollout?.phase === 'progressing', {
      timeoutMs: 10_000,
      intervalMs: 50,
      what: 'the rollout to progress',
    });
    expect(JSON.parse(await readFile(inst.stateFile, 'utf8'))).toBeTruthy();
    first.child.kill('SIGKILL');
    await withTimeout(exited(first.child), 5_000, 'the killed veer to exit');

    // The operator changes the policy while veer is down; the stored rollout still says resume.
    await inst.configure({ ...policy, onRestart: 'rollback' });
    const second = spawnVeer(inst.config);
    await inst.ready(second);
    const done = await waitFor(
      async () => {
        const r = (await inst.status()).rollout;
        return r !== null && isTerminal(r.phase) ? r : null;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: `the rollout to end (${second.output()})` },
    );
    expect(done).toMatchObject({ id, phase: 'rolled-back' });
    expect(done.reason).toBe('veer restarted during the rollout (onRestart: rollback; it was progressing at 10%)');
    const after = await inst.status();
    expect(after.weight).toBe(0);
    expect(after.pools.stable.targets.map((t) => t.id)).toEqual([stable.address]);
    expect(after.pools.canary.targets).toEqual([]);
    const es = await inst.events();
    expect(es.filter((e) => e.kind === 'rolling-back').map((e) => e.message)).toEqual([done.reason]);
  }, 60_000);
});
