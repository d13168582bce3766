// The admin API and the data plane's listener. The data plane registers its closer last, so it is
// the first thing closed: in-flight requests finish while everything behind it still runs.
import type { AddressInfo } from 'node:net';
import { buildApp } from '../api/app.js';
import type { ClusterView, ReadyState } from '../api/ports.js';
import type { ClusterMembership } from '../cluster.js';
import type { DataPlane } from '../dataplane/dataplane.js';
import { named } from '../dataplane/listen-on.js';
import type { DockerStack } from '../docker/stack.js';
import { gauges } from '../gauges.js';
import { LoopDelay } from '../metrics/loop-delay.js';
import { renderPrometheus, type ExtraMetric } from '../metrics/prometheus.js';
import type { MetricsRegistry } from '../metrics/registry.js';
import { seriesView } from './series.js';
import type { RolloutController } from '../rollout/controller.js';
import { MaintenanceSwitch } from '../rollout/maintenance.js';
import { ServiceDesk, type MembershipView } from '../rollout/desk.js';
import type { EventLog } from '../rollout/events.js';
import type { Records } from '../rollout/records.js';
import type { Reloader, ReloadTrigger } from '../reload/reloader.js';
import type { SelfAddresses } from '../self-address.js';
import type { RedisStore } from '../store/redis.js';
import { VERSION } from '../version.js';
import type { Base, RunningVeer } from './base.js';
import { pruner } from './docker.js';
import type { Emit } from './events.js';
import { startWorkers } from './workers.js';
import { workerMetrics, workersView } from '../workers/fanout.js';
import type { WorkerPool } from '../workers/primary.js';

export interface Running {
  plane: DataPlane;
  metrics: MetricsRegistry;
  controller: RolloutController;
  events: EventLog;
  store: RedisStore | null;
  cluster: ClusterMembership | null;
  docker: DockerStack | null;
  emit: Emit;
  /** The recorded Docker membership (status and metrics say which targets are stale). */
  records: Pick<Records, 'members' | 'maintenance' | 'versionOf' | 'write'>;
  /** veer's own listeners (a reload that moves the data plane's says so). */
  selfAddresses: SelfAddresses;
  /** The admin token now (a reload changes it). */
  token: () => string;
  reloader: Reloader;
  /** Families other subsystems add to /metrics (ACME). */
  extraMetrics: () => ExtraMetric[];
  /** The data-plane processes (`workers` > 1); null: this process listens itself. */
  workers: WorkerPool | null;
}

const staleFrom = (records: Pick<Records, 'members'>): MembershipView => ({
  staleTargets: (s) => new Set((records.members(s) ?? []).filter((m) => m.stale === true).map((m) => m.address)),
});

const maintenanceSwitch = (b: Base, r: Running): MaintenanceSwitch =>
  new MaintenanceSwitch({
    records: r.records,
    now: () => b.clock.now(),
    known: (s) => r.plane.serviceConfig(s) !== undefined,
    emit: r.emit,
  });

/** Alone, this replica is the cluster: its entry has the admin URL a Redis entry has (once bound). */
const clusterView = (b: Base, r: Running, adminUrl: string | null): ClusterView =>
  r.cluster?.view() ?? {
    self: b.self,
    leader: b.self,
    replicas: [
      { id: b.self, seenAt: new Date(b.clock.now()).toISOString(), ...(adminUrl === null ? {} : { adminUrl }) },
    ],
  };

/** /metrics: the pools' windows, the gauges, the other subsystems' metrics, and how late the event loop ran. */
function metricsText(b: Base, r: Running, membership: ReturnType<typeof staleFrom>): () => string {
  const loopDelay = new LoopDelay();
  b.closers.add('event loop delay', async () => loopDelay.close());
  const gaugesNow = () => gauges(r.plane, r.controller, membership, r.workers?.gauges);
  const workers = (): ExtraMetric[] => (r.workers ? workerMetrics(r.workers) : []);
  return () =>
    renderPrometheus(r.metrics, [...gaugesNow(), ...r.extraMetrics(), ...workers(), ...loopDelay.families()]);
}

/** Names the start line lists at most: a thousand made it ~10 KB, and Docker's log drivers split a line past 16 KB. */
export const STARTED_NAMES = 20;

/** The start line's services: every name, or the first STARTED_NAMES and how many there are. */
export function startedServices(names: readonly string[]): { services: string[]; serviceCount?: number } {
  if (names.length <= STARTED_NAMES) return { services: [...names] };
  return { services: names.slice(0, STARTED_NAMES), serviceCount: names.length };
}

/** The admin API and the data plane's listener; the data plane is the first thing closed. */
export async function listen(b: Base, r: Running): Promise<RunningVeer> {
  const { config, clock, log } = b;
  let listening = false;
  let stopping = false;
  let adminUrl: string | null = null;
  const selfAddresses = r.selfAddresses;
  const membership = staleFrom(r.records);
  const desk = new ServiceDesk(r.plane, r.controller, r.metrics, clock, log, r.emit, membership);
  const storeState = (): 'ok' | 'degraded' => (r.store === null || r.store.status() === 'up' ? 'ok' : 'degraded');
  const app = buildApp(
    {
      services: desk,
      rollouts: r.controller,
      history: r.controller,
      events: r.events,
      metricsText: metricsText(b, r, membership),
      readiness: (): ReadyState => ({
        ready: listening,
        checks: { dataplane: listening ? 'ok' : 'failing', store: storeState() },
      }),
      stopping: () => stopping,
      cluster: () => clusterView(b, r, adminUrl),
      ...(r.workers ? { workers: () => workersView(r.workers as WorkerPool) } : {}),
      prune: pruner(b, r.docker, () => r.reloader.config()),
      isSelf: selfAddresses.isSelf,
      token: r.token,
      reload: () => r.reloader.reload('api'),
      maintenance: maintenanceSwitch(b, r),
      version: VERSION,
      series: seriesView(b, r),
      ui: { sessionTtlMs: config.admin.ui.sessionTtl, secureCookie: config.admin.ui.secureCookie },
    },
    { logger: log },
  );
  b.closers.add('admin api', () => app.close());
  await named('admin.listen', app.listen({ host: config.admin.listen.host, port: config.admin.listen.port }));
  // Health-checked targets start pending (no traffic): give their first probes a moment so the
  // first requests are not answered 503 while a healthy pool is being confirmed.
  await r.plane.settleHealth();
  const admin = app.server.address() as AddressInfo;
  const host = admin.address.includes(':') ? `[${admin.address}]` : admin.address;
  adminUrl = `http://${host}:${admin.port}`;
  // Registered before the first request it serves (see ClusterMembership.join); leading only once it serves.
  await r.cluster?.join(adminUrl);
  const { data, tls } = await listenData(b, r, () => ([listening, stopping] = [false, true]));
  listening = true;
  selfAddresses.bound({ 'data-plane': data, admin, ...(tls === null ? {} : { tls }) });
  await r.cluster?.start(r.controller);
  log.log('info', 'veer started', {
    version: VERSION,
    listen: `${data.address}:${data.port}`,
    ...(tls === null ? {} : { tls: `${tls.address}:${tls.port}` }),
    admin: `${admin.address}:${admin.port}`,
    ...(r.workers ? { workers: b.workers } : {}),
    ...startedServices(r.plane.serviceNames()),
  });
  const reload = (trigger: ReloadTrigger) => r.reloader.reload(trigger);
  const reopenLogs = (): void => (r.workers ? r.workers.broadcast({ type: 'reopen' }) : r.plane.accessLog.reopen());
  return { data, admin, tls, plane: r.plane, reload, reopenLogs, close: () => b.closers.closeAll(log) };
}

/** This process's data listeners, or the workers' (the primary's data plane then only routes for them). */
async function listenData(b: Base, r: Running, stopped: () => void) {
  const closePlane = async (): Promise<void> => {
    stopped();
    const closed = await r.plane.close(b.config.proxy.timeouts.shutdown);
    b.log.log(closed.drained ? 'info' : 'warn', 'data plane closed', closed);
  };
  if (r.workers) {
    b.closers.add('data plane', closePlane);
    return startWorkers(b, r.workers, stopped);
  }
  const data = await named('listen', r.plane.listen());
  b.closers.add('data plane', closePlane);
  return { data, tls: await named('tls.listen', r.plane.listenTls()) };
}
