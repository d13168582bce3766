// An engine that does not answer never empties a pool (issue 11, item 4). veer watches the local
// engine through a unix-socket front this file starts; closing the front makes the engine unreachable
// for veer while its containers keep serving. Traffic through veer must not notice, status and
// /metrics must report the targets stale, and once the front is back membership is reconciled with
// what the engine lists - including a container started while veer could not see the engine.
// Skipped when no engine answers, unless VEER_REQUIRE_DOCKER=1.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { dockerSuite, runTestApp } from '../../helpers/docker.js';
import { adminCall, startStable, useDockerApps } from '../../helpers/docker-veer.js';
import { waitFor } from '../../helpers/process.js';
import { socketRelay } from '../../helpers/socket-relay.js';
import { startTraffic } from '../../helpers/traffic.js';

const ENGINE_SOCKET = '/var/run/docker.sock';

/** A unix socket in front of the engine that can go away (connections cut, nothing listening) and come back. */
function engineFront(file: string) {
  const relay = socketRelay(ENGINE_SOCKET);
  const server = net.createServer((client) => relay.accept(client));
  return {
    open: (): Promise<void> =>
      new Promise((resolve, reject) => {
        rmSync(file, { force: true });
        server.once('error', reject);
        server.listen(file, () => {
          server.off('error', reject);
          resolve();
        });
      }),
    close: (): Promise<void> => {
      if (!server.listening) return Promise.resolve();
      const closed = new Promise<void>((r) => server.close(() => r()));
      relay.cutAll();
      return closed;
    },
  };
}

interface Target {
  id: string;
  health: string;
  stale: boolean;
}

async function stableTargets(admin: string): Promise<Target[]> {
  const r = await adminCall(admin, 'GET', '/v1/services/web');
  return (r.body.pools.stable.targets as Target[]).slice().sort((a, b) => a.id.localeCompare(b.id));
}

/** veer_target_stale of the stable pool, by target. */
async function staleGauge(admin: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${admin}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^veer_target_stale\{(.*)\} (\S+)$/.exec(line);
    if (!m || !(m[1] ?? '').includes('pool="stable"')) continue;
    const target = /target="([^"]*)"/.exec(m[1] ?? '')?.[1];
    if (target !== undefined) out.set(target, Number(m[2]));
  }
  return out;
}

/** The pool is exactly `ids`, each with `stale` as given, in status and in /metrics. */
async function reported(admin: string, ids: string[], stale: boolean): Promise<boolean> {
  const targets = await stableTargets(admin);
  const gauge = await staleGauge(admin);
  return (
    JSON.stringify(targets.map((t) => t.id)) === JSON.stringify([...ids].sort()) &&
    targets.every((t) => t.stale === stale && gauge.get(t.id) === (stale ? 1 : 0)) &&
    gauge.size === ids.length
  );
}

const suite = await dockerSuite('docker/engine-outage.test');
const apps = useDockerApps();
const dir = mkdtempSync(path.join(tmpdir(), 'veer-outage-'));
const socket = path.join(dir, 'docker.sock');
const front = engineFront(socket);
afterAll(async () => {
  await front.close();
  rmSync(dir, { recursive: true, force: true });
});

suite('a Docker engine that stops answering', () => {
  it(
    'keeps its containers routed and reported stale, then reconciles membership when it answers again',
    { timeout: 120_000 },
    async () => {
      const app = apps.app('outage');
      const [a, b] = await startStable(app, 2);
      await front.open();
      const veer = await apps.veer({
        app,
        owner: `t-outage-${process.pid}`,
        docker: { endpoints: [{ name: 'fronted', host: `unix://${socket}` }] },
        service: { healthCheck: { path: '/healthz', interval: '300ms', healthyThreshold: 1 } },
      });
      const before = [a!.target, b!.target];
      await waitFor(async () => (await reported(veer.admin, before, false)) || null, {
        timeoutMs: 15_000,
        intervalMs: 100,
        what: 'both containers routed, not stale',
      });
      const traffic = startTraffic({ url: veer.url, rps: 50, maxMs: 110_000 });
      try {
        await waitFor(() => traffic.snapshot().ok >= 20, { timeoutMs: 10_000, what: 'traffic flowing' });

        await front.close();
        await waitFor(async () => (await reported(veer.admin, before, true)) || null, {
          timeoutMs: 15_000,
          intervalMs: 100,
          what: 'both targets reported stale while the engine does not answer',
        });
        // Started behind veer's back: only a listing after the outage can find it.
        const c = await runTestApp({ labels: { app } });
        const mark = traffic.snapshot().ok;
        await waitFor(() => traffic.snapshot().ok >= mark + 100, {
          timeoutMs: 15_000,
          what: '100 more requests served during the outage',
        });
        const during = await stableTargets(veer.admin);
        expect(during.map((t) => t.id)).toEqual([...before].sort());
        // Health checks keep running against the stale targets, which still answer.
        expect(during.every((t) => t.stale && t.health === 'healthy')).toBe(true);

        await front.open();
        await waitFor(async () => (await reported(veer.admin, [...before, c.target], false)) || null, {
          timeoutMs: 30_000,
          intervalMs: 100,
          what: 'membership reconciled (three targets, none stale) once the engine answers',
        });
        const after = traffic.snapshot().ok;
        await waitFor(() => traffic.snapshot().ok >= after + 50, {
          timeoutMs: 15_000,
          what: 'traffic after the outage',
        });
      } finally {
        await traffic.stop();
      }
      const report = await traffic.done;
      const notOk = Object.entries(report.byStatus).filter(([code]) => !code.startsWith('2'));
      expect({ notOk, networkErrors: report.networkErrors, failures: report.failureLog.slice(0, 5) }).toEqual({
        notOk: [],
        networkErrors: 0,
        failures: [],
      });
      expect(report.ok).toBeGreaterThan(170);
    },
  );
});
