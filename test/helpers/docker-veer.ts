// veer with Docker pools for tests: a config around a service whose stable pool is the test
// containers carrying a per-test `app` label, admin calls, and bounded waits on rollout phases.
// Containers veer clones inherit the stable containers' labels, so the test label (veer.test=1)
// and the per-test `app` label are on everything a test causes to exist.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach } from 'vitest';
import { parseConfigObject } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { silentLogger } from '../../src/domain/log.js';
import { startVeer, type RunningVeer } from '../../src/main.js';
import { docker, runTestApp, TEST_LABEL, type TestApp, type TestAppOptions } from './docker.js';
import { waitFor } from './process.js';

export const uniqueApp = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

export interface DockerVeerOptions {
  app: string;
  owner: string;
  rollout?: Record<string, unknown>;
  service?: Record<string, unknown>;
  docker?: Record<string, unknown>;
  state?: Record<string, unknown>;
  extraServices?: unknown[];
}

export function dockerConfigObject(
  o: DockerVeerOptions,
  ports: { data: number; admin: number } = { data: 0, admin: 0 },
): Record<string, unknown> {
  return {
    listen: `127.0.0.1:${ports.data}`,
    admin: { listen: `127.0.0.1:${ports.admin}` },
    // A line per request would flood the test output (and slow a loaded run): tests of the log turn it on.
    accessLog: { enabled: false },
    state: o.state ?? { store: 'memory' },
    docker: { owner: o.owner, ...o.docker },
    services: [
      {
        name: 'web',
        stable: { docker: { selector: { app: o.app }, port: 8080 } },
        rollout: {
          steps: [50, 100],
          stepInterval: '1s',
          analysisInterval: '500ms',
          minRequests: 20,
          drainTimeout: '2s',
          healthTimeout: '20s',
          ...o.rollout,
        },
        ...o.service,
      },
      ...(o.extraServices ?? []),
    ],
  };
}

export interface DockerVeer {
  running: RunningVeer;
  url: string;
  admin: string;
  close(): Promise<void>;
}

export async function startDockerVeer(o: DockerVeerOptions): Promise<DockerVeer> {
  const r = parseConfigObject(dockerConfigObject(o), {});
  if (!r.ok) throw r.error;
  const running = await startVeer(r.value as Config, { log: silentLogger });
  let closing: Promise<void> | null = null;
  return {
    running,
    url: `http://127.0.0.1:${running.data.port}`,
    admin: `http://127.0.0.1:${running.admin.port}`,
    close: () => (closing ??= running.close()),
  };
}

export async function adminCall(
  admin: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${admin}${path}`, {
    method,
    signal: AbortSignal.timeout(30_000),
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Waits until the service's rollout is in one of `phases`; returns its status. */
export async function waitPhase(admin: string, phases: string[], timeoutMs: number, service = 'web'): Promise<any> {
  return waitFor(
    async () => {
      const r = await adminCall(admin, 'GET', `/v1/services/${service}`);
      return phases.includes(r.body?.rollout?.phase) ? r.body.rollout : null;
    },
    { timeoutMs, intervalMs: 200, what: `rollout of ${service} to reach ${phases.join('|')}` },
  );
}

/** Waits until the pool has exactly `n` targets. */
export async function waitPoolSize(
  admin: string,
  pool: 'stable' | 'canary',
  n: number,
  timeoutMs = 15_000,
): Promise<string[]> {
  return waitFor(
    async () => {
      const r = await adminCall(admin, 'GET', '/v1/services/web');
      const ids: string[] = r.body.pools[pool].targets.map((t: { id: string }) => t.id);
      return ids.length === n ? ids : null;
    },
    { timeoutMs, intervalMs: 200, what: `${pool} pool to have ${n} targets` },
  );
}

export async function startStable(
  app: string,
  n: number,
  opts: Omit<TestAppOptions, 'labels'> & { labels?: Record<string, string> } = {},
): Promise<TestApp[]> {
  const out: TestApp[] = [];
  for (let i = 0; i < n; i++) out.push(await runTestApp({ ...opts, labels: { app, ...opts.labels } }));
  return out;
}

/** Every container (running or not) carrying this test's app label, as [name, state, rollout label]. */
export async function containersOf(
  app: string,
): Promise<Array<{ id: string; name: string; state: string; rollout: string | null; image: string }>> {
  const list = await docker().listContainers({
    all: true,
    filters: { label: [`app=${app}`, ...Object.entries(TEST_LABEL).map(([k, v]) => `${k}=${v}`)] },
  });
  return list.map((c) => ({
    id: c.Id,
    name: (c.Names[0] ?? '').replace(/^\//, ''),
    state: c.State,
    rollout: c.Labels['veer.rollout'] ?? null,
    image: c.Image,
  }));
}

/** Removes every container with this test's app label (and only those). */
export async function removeApp(app: string): Promise<void> {
  for (const c of await containersOf(app)) {
    try {
      await docker().getContainer(c.id).remove({ force: true });
    } catch {
      // already gone / removal in progress
    }
  }
}

export interface DockerApps {
  /** A fresh app label; its containers (and veer's clones of them) are removed after the file. */
  app(prefix: string): string;
  /** A veer closed after the test. */
  veer(o: DockerVeerOptions): Promise<DockerVeer>;
}

/** Call once at the top of a test file. */
export function useDockerApps(): DockerApps {
  const apps: string[] = [];
  const veers: DockerVeer[] = [];
  afterEach(async () => {
    for (const v of veers.splice(0)) await v.close();
  });
  afterAll(async () => {
    for (const a of apps) await removeApp(a);
  });
  return {
    app(prefix) {
      const a = uniqueApp(prefix);
      apps.push(a);
      return a;
    },
    async veer(o) {
      const v = await startDockerVeer(o);
      veers.push(v);
      return v;
    },
  };
}
