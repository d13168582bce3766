// Several veer replicas as real child processes (`veer start` through tsx) sharing one redis-server
// under a fresh prefix, plus the probes the replica tests share: admin JSON, each replica's own
// events, the cluster view. Every replica is tracked by pid and stopped by stopReplicas() in the
// tests' afterEach (SIGCONT first, so a SIGSTOPped one can still take its SIGTERM), temp dirs too.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ClusterView, ServiceStatus } from '../../../src/api/ports.js';
import type { RolloutEvent } from '../../../src/domain/rollout.js';
import { hasExited, spawnTracked, stopChild, waitFor, withTimeout, exited } from '../../helpers/process.js';
import { parseStarted } from '../../helpers/veer-started.js';
import { http } from '../../helpers/veer.js';
import { CLI_ENTRY } from '../../helpers/cli-entry.js';

export const ROOT = new URL('../../../', import.meta.url).pathname;

// maxLatencyRatio 5: ~1 ms loopback latencies make the 1.5× p99 ratio a test of CPU noise (see
// test/integration/rollout/canary.test.ts).
export const POLICY = {
  steps: [10, 30, 50, 100],
  stepInterval: '1s',
  analysisInterval: '250ms',
  minRequests: 30,
  drainTimeout: '2s',
  maxLatencyRatio: 5,
};
/**
 * 3 s, renewed every 1 s: the leader keeps it through a ~1.4 s stall of its process (renewal, margin),
 * which a 1 s lease did not on a loaded CI host (leadership moved mid-rollout). Takeovers are bounded
 * by it in the failover tests.
 */
export const LEASE_TTL_MS = 3_000;

export interface Replica {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly dataUrl: string;
  readonly adminUrl: string;
  /** Whether veer said which ports it bound (the URLs are known). */
  readonly bound: boolean;
  /** The replica's own id (`self` of its /v1/cluster), known once it is ready. */
  id: string;
  output(): string;
  signal(sig: NodeJS.Signals): void;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  redisUrl: string;
  prefix: string;
  /** Service objects in config shape; every replica gets the same list. */
  services: unknown[];
  count?: number;
  /** The `docker` section (e.g. a per-test owner). */
  docker?: Record<string, unknown>;
  /** The leader lease (LEASE_TTL_MS unless given). */
  leaseTtlMs?: number;
  /** The data listener (port 0 unless given: a test that must reach it before veer says it is up). */
  listen?: string;
}

let prefixSeq = 0;
/** A prefix no other test (nor an earlier run on the same redis) has used. */
export const freshPrefix = (tag: string): string => `${tag}-${process.pid}-${Date.now().toString(36)}-${++prefixSeq}`;

const started: Replica[] = [];
const dirs: string[] = [];

/** For afterEach: stops every replica started since the last call (by pid) and removes their temp dirs. */
export async function stopReplicas(): Promise<void> {
  await Promise.allSettled(started.splice(0).map((r) => r.stop()));
  await Promise.allSettled(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** The gauges that tell a stalled replica (loop lateness) from one holding requests (in flight, waiting). */
const TOLD = new RegExp(
  '^veer_(event_loop_lateness_seconds_(sum|count|bucket.*le="(0\\.1|1|\\+Inf)")|' +
    'inflight_requests|waiting_requests|target_(ejected|outstanding))',
);

/**
 * For a failed test's report: what each replica started since the last stopReplicas() wrote last, and
 * the gauges above from its /metrics (asked with a short bound: a stalled one answers nothing).
 */
export async function replicaReport(): Promise<string> {
  const parts = await Promise.all(
    started.map(async (r) => {
      const gauges = r.bound
        ? await http(`${r.adminUrl}/metrics`, { timeoutMs: 2_000 }).then(
            (res) =>
              res.text
                .split('\n')
                .filter((l) => TOLD.test(l))
                .join('\n'),
            (e: unknown) => `(no /metrics: ${String(e)})`,
          )
        : '(not bound)';
      return `--- replica ${r.name} (pid ${r.pid}):\n${gauges}\nits last output:\n${r.output()}`;
    }),
  );
  return parts.join('\n');
}

export async function startReplicas(o: ClusterOptions): Promise<Replica[]> {
  const dir = await mkdtemp(join(tmpdir(), 'veer-replicas-'));
  dirs.push(dir);
  const names = ['A', 'B', 'C', 'D', 'E'].slice(0, o.count ?? 3);
  const replicas: Replica[] = [];
  for (const name of names) replicas.push(await spawnReplica(name, dir, o));
  await Promise.all(replicas.map((r) => ready(r)));
  return replicas;
}

async function spawnReplica(name: string, dir: string, o: ClusterOptions): Promise<Replica> {
  const config = join(dir, `${name}.yaml`);
  // Port 0, and the bound ports read from veer's own "veer started" line: a port picked free here
  // could be taken by another test file's server before veer binds it.
  await writeFile(
    config,
    stringify({
      listen: o.listen ?? '127.0.0.1:0',
      admin: { listen: '127.0.0.1:0' },
      state: { store: 'redis', redis: o.redisUrl, prefix: o.prefix, leaseTtl: `${o.leaseTtlMs ?? LEASE_TTL_MS}ms` },
      services: o.services,
      // Only the lines that tell of trouble (5xx, veer's own answers, clients gone): a line per request
      // from three replicas at a few hundred req/s costs the replicas and this process, which reads their
      // output, CPU that a loaded host does not have.
      accessLog: { sample: 0 },
      ...(o.docker ? { docker: o.docker } : {}),
    }),
  );
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VEER_')));
  const child = spawnTracked(process.execPath, [...CLI_ENTRY, 'start', '-c', config], {
    cwd: ROOT,
    env,
  });
  let out = '';
  let pending = '';
  const bound = { data: '', admin: '' };
  const keep = (c: Buffer): void => {
    out = (out + c.toString()).slice(-6_000);
    pending += c.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const started = bound.admin === '' ? parseStarted(line) : null;
      if (started) Object.assign(bound, { data: started.listen, admin: started.admin });
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const replica: Replica = {
    name,
    child,
    pid: child.pid as number,
    get dataUrl() {
      return `http://${bound.data}`;
    },
    get adminUrl() {
      return `http://${bound.admin}`;
    },
    get bound() {
      return bound.admin !== '';
    },
    id: '',
    output: () => out,
    signal: (sig) => {
      if (!hasExited(child)) child.kill(sig);
    },
    kill9: async () => {
      if (hasExited(child)) return;
      const gone = exited(child);
      child.kill('SIGKILL');
      await withTimeout(gone, 5_000, `replica ${name} to die after SIGKILL`);
    },
    stop: async () => {
      if (hasExited(child)) return;
      child.kill('SIGCONT');
      await stopChild(child, 5_000);
    },
  };
  started.push(replica);
  return replica;
}

async function ready(r: Replica): Promise<void> {
  await waitFor(
    async () => {
      if (hasExited(r.child)) throw new Error(`replica ${r.name} exited: ${r.output()}`);
      if (!r.bound) return false;
      return (await http(`${r.adminUrl}/readyz`, { timeoutMs: 1_000 })).status === 200;
    },
    { timeoutMs: 25_000, intervalMs: 100, what: `replica ${r.name} ready` },
  );
  r.id = (await cluster(r)).self;
}

export async function getJson<T>(url: string, timeoutMs = 2_000, onSent?: () => void): Promise<T> {
  const r = await http(url, { timeoutMs, ...(onSent ? { onSent } : {}) });
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${r.text}`);
  return JSON.parse(r.text) as T;
}

export async function postJson<T>(url: string, body: unknown, timeoutMs = 5_000): Promise<{ status: number; json: T }> {
  const r = await http(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    timeoutMs,
  });
  return { status: r.status, json: JSON.parse(r.text) as T };
}

export const status = (r: Replica): Promise<ServiceStatus> => getJson<ServiceStatus>(`${r.adminUrl}/v1/services/web`);
export const cluster = (r: Replica): Promise<ClusterView> => getJson<ClusterView>(`${r.adminUrl}/v1/cluster`);

/**
 * Asks for the cluster view and also says when the question has been written: to a stopped replica,
 * then, the request is waiting in its socket, to be the first thing it reads when it resumes.
 */
export function clusterAsked(r: Replica): { sent: Promise<void>; view: Promise<ClusterView> } {
  let markSent!: () => void;
  const sent = new Promise<void>((resolve) => (markSent = resolve));
  // A long bound: a stopped replica answers only once resumed.
  const view = getJson<ClusterView>(`${r.adminUrl}/v1/cluster`, 10_000, markSent);
  // Awaited later; a failure before then must not count as unhandled.
  view.catch(() => undefined);
  return { sent: withTimeout(sent, 5_000, 'the cluster question to be written'), view };
}
export const events = async (r: Replica): Promise<RolloutEvent[]> =>
  (await getJson<{ events: RolloutEvent[] }>(`${r.adminUrl}/v1/services/web/events?limit=1000`)).events;

/**
 * The events this replica emitted itself. A replica may also hold events relayed from the others
 * (they keep their origin); counting each replica's own only counts every event exactly once.
 */
export async function ownEvents(r: Replica): Promise<RolloutEvent[]> {
  return (await events(r)).filter((e) => e.origin === undefined || e.origin === r.id);
}

/** Every replica's own events, in emission time order (ties keep replica order). */
export async function allOwnEvents(rs: readonly Replica[]): Promise<Array<RolloutEvent & { by: string }>> {
  const lists = await Promise.all(rs.map(async (r) => (await ownEvents(r)).map((e) => ({ ...e, by: r.name }))));
  return lists.flat().sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

/** The replica that names itself leader (its lease is held), polled until one does. */
export async function waitForLeader(rs: readonly Replica[], timeoutMs = 10_000): Promise<Replica> {
  return waitFor(
    async () => {
      const views = await Promise.all(rs.map(async (r) => ({ r, v: await cluster(r) })));
      return views.find(({ r, v }) => v.leader === r.id)?.r;
    },
    { timeoutMs, intervalMs: 20, what: 'a replica that leads' },
  );
}

export const milestones = (es: readonly RolloutEvent[]): string[] =>
  es.filter((e) => e.kind !== 'analysis').map((e) => e.kind);
