// `veer start` with `workers: N` as a child process, and what the tests read from its admin API.
import { connect } from 'node:net';
import type { WorkersView } from '../../src/api/ports.js';
import { waitFor } from './process.js';
import { startVeerChild, type VeerChild } from './veer-child.js';
import { http, type Harness } from './veer.js';

/** JSON from the child's admin API. */
export async function api<T = unknown>(v: VeerChild, method: string, path: string, body?: unknown) {
  const r = await http(`${v.adminUrl}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: r.status, json: JSON.parse(r.text) as T };
}

export const workersOf = async (v: VeerChild): Promise<WorkersView> =>
  (await api<WorkersView>(v, 'GET', '/v1/workers')).json;

/** Every worker listens and has acknowledged the primary's newest snapshot. */
export async function allAcked(
  v: VeerChild,
  count: number,
  what = 'every worker to acknowledge',
): Promise<WorkersView> {
  return waitFor(
    async () => {
      const w = await workersOf(v);
      const done =
        w.workers.length === count && w.workers.every((x) => x.listening && x.snapshotVersion >= w.snapshot.version);
      return done ? w : null;
    },
    { what, timeoutMs: WORKERS_READY_MS },
  );
}

/** Each worker is a process of its own: on a busy 2-core machine that takes a while (45 s was outrun in CI). */
export const WORKERS_READY_MS = 90_000;
/** The bound of a test that starts `veer start` with workers (vitest's default is 30 s). */
export const WORKERS_TEST_MS = 180_000;

/** `veer start` with `workers` data-plane processes, ready once all of them listen. */
export async function startWorkersVeer(h: Harness, config: Record<string, unknown>, workers = 2) {
  const v = await startVeerChild(h, { workers, ...config }, WORKERS_READY_MS);
  // veer's own output says why when they do not (a worker that failed, a primary that exited).
  await allAcked(v, workers, `${workers} workers to listen`).catch((e: Error) => {
    throw new Error(`${e.message} (output: ${v.output()})`);
  });
  return v;
}

/** The value of one sample in Prometheus text (labels as written, e.g. `{service="web",pool="stable"}`). */
export function sample(text: string, name: string, labels = ''): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
}

export const metricsText = async (v: VeerChild): Promise<string> => (await http(`${v.adminUrl}/metrics`)).text;

/** Whether a new connection to the port is refused (rather than accepted). */
export function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', (e: Error & { code?: string }) => resolve(e.code === 'ECONNREFUSED'));
  });
}
