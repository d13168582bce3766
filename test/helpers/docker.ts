// Docker helpers for tests. Everything a test creates carries TEST_LABEL, and cleanup removes only
// containers with that label, never anything else on the engine.
import Docker from 'dockerode';
import { describe } from 'vitest';
import { errorMessage } from '../../src/domain/errors.js';
import { waitFor, withTimeout } from './process.js';

export const TEST_LABEL: Readonly<Record<string, string>> = Object.freeze({ 'veer.test': '1' });
export const TEST_APP_IMAGE = 'veer-test-app:1';

let client: Docker | undefined;

/** Shared client; docker-modem honours DOCKER_HOST, else /var/run/docker.sock. */
export function docker(): Docker {
  client ??= new Docker();
  return client;
}

export type DockerStatus = { ok: true } | { ok: false; reason: string };

/** Whether an engine answers a ping within `timeoutMs`, with the reason when it does not. */
export async function dockerStatus(timeoutMs = 3_000): Promise<DockerStatus> {
  try {
    await withTimeout(docker().ping(), timeoutMs, 'docker ping');
    return { ok: true };
  } catch (e) {
    const where = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
    return { ok: false, reason: `no Docker engine at ${where}: ${errorMessage(e)}` };
  }
}

export async function dockerAvailable(timeoutMs = 3_000): Promise<boolean> {
  return (await dockerStatus(timeoutMs)).ok;
}

function statusCode(e: unknown): number | undefined {
  return typeof e === 'object' && e !== null && 'statusCode' in e
    ? Number((e as { statusCode: unknown }).statusCode)
    : undefined;
}

/** Force-removes one container; "already gone" (404) and "removal in progress" (409) are fine. */
export async function removeContainer(id: string): Promise<void> {
  try {
    await docker().getContainer(id).remove({ force: true, v: true });
  } catch (e) {
    const code = statusCode(e);
    if (code !== 404 && code !== 409) throw e;
  }
}

/** Removes every container carrying TEST_LABEL (running or not). Returns how many were found. */
export async function removeTestContainers(): Promise<number> {
  const filters = { label: Object.entries(TEST_LABEL).map(([k, v]) => `${k}=${v}`) };
  const list = await docker().listContainers({ all: true, filters });
  await Promise.all(list.map((c) => removeContainer(c.Id)));
  return list.length;
}

export interface TestApp {
  id: string;
  /** Host port on 127.0.0.1 that Docker published the app's 8080 on. */
  port: number;
  /** "127.0.0.1:<port>", the form veer's targets take. */
  target: string;
  url: string;
  remove(): Promise<void>;
}

export interface TestAppOptions {
  image?: string;
  /** PORT is fixed at 8080 inside; see test/images/app/server.mjs for VERSION, ERROR_RATE, … */
  env?: Record<string, string>;
  labels?: Record<string, string>;
  /** Wait until the app answers HTTP (any status). Default true. */
  waitReady?: boolean;
  /** e.g. a restart policy or AutoRemove, merged into the HostConfig. */
  hostConfig?: Record<string, unknown>;
  name?: string;
}

/** Runs a test app container with its port published on 127.0.0.1 only (random host port). */
export async function runTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const env = Object.entries({ ...opts.env, PORT: '8080' }).map(([k, v]) => `${k}=${v}`);
  const container = await docker().createContainer({
    Image: opts.image ?? TEST_APP_IMAGE,
    Env: env,
    Labels: { ...opts.labels, ...TEST_LABEL },
    ExposedPorts: { '8080/tcp': {} },
    HostConfig: { ...opts.hostConfig, PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
    ...(opts.name ? { name: opts.name } : {}),
  });
  const remove = (): Promise<void> => removeContainer(container.id);
  try {
    await container.start();
    const info = await container.inspect();
    const port = Number(info.NetworkSettings.Ports['8080/tcp']?.[0]?.HostPort);
    if (!Number.isInteger(port) || port <= 0) throw new Error(`container ${container.id} has no published port`);
    const url = `http://127.0.0.1:${port}`;
    if (opts.waitReady ?? true) await waitUntilAnswers(url);
    return { id: container.id, port, target: `127.0.0.1:${port}`, url, remove };
  } catch (e) {
    await remove();
    throw e;
  }
}

export interface RestartWitness {
  id: string;
  /** Resolves once Docker has restarted the witness `n` times. */
  restarts(n: number, timeoutMs?: number): Promise<void>;
  remove(): Promise<void>;
}

/**
 * A container that exits at once under `restart: always`, so Docker keeps restarting it with a
 * growing back-off (100 ms, 200 ms, 400 ms, …). Its n-th restart proves the engine's restart
 * manager has been at work that long: the positive event a "stays gone" check waits for, instead of
 * a sleep.
 */
export async function restartWitness(labels: Record<string, string> = {}): Promise<RestartWitness> {
  const container = await docker().createContainer({
    Image: TEST_APP_IMAGE,
    // The test app cannot listen on that and exits.
    Env: ['PORT=notaport'],
    Labels: { ...labels, ...TEST_LABEL },
    HostConfig: { RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } },
  });
  const remove = (): Promise<void> => removeContainer(container.id);
  try {
    await container.start();
  } catch (e) {
    await remove();
    throw e;
  }
  return {
    id: container.id,
    remove,
    restarts: async (n, timeoutMs = 30_000) => {
      await waitFor(async () => (await container.inspect()).RestartCount >= n, {
        timeoutMs,
        intervalMs: 100,
        what: `Docker to restart the witness container ${n} times`,
      });
    },
  };
}

async function waitUntilAnswers(url: string): Promise<void> {
  await waitFor(
    async () => {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      return true;
    },
    { timeoutMs: 15_000, intervalMs: 100, what: `${url} to answer` },
  );
}

/**
 * `describe` when an engine answers, else `describe.skip` with a warning - except under
 * VEER_REQUIRE_DOCKER=1 (scripts/test.sh), where a missing engine must fail the run instead.
 */
export async function dockerSuite(file: string): Promise<typeof describe | typeof describe.skip> {
  const status = await dockerStatus();
  const required = process.env.VEER_REQUIRE_DOCKER === '1';
  if (!status.ok) console.warn(`[${file}] ${required ? 'FAILING' : 'skipping'}: ${status.reason}`);
  return status.ok || required ? describe : describe.skip;
}
