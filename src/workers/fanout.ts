// What the primary asks of every worker at once, each answer bounded: drain targets out of routing,
// apply a reload's access log and certificates, reopen the access log.
// And what it shows of them: GET /v1/workers and the `veer_worker_*` metrics.
import type { WorkersView } from '../api/ports.js';
import type { Config } from '../config/schema.js';
import { loopDelayFamily } from '../metrics/loop-delay.js';
import { latenessFamily } from '../metrics/loop-lateness.js';
import type { ExtraMetric } from '../metrics/prometheus.js';
import type { WorkerPool } from './primary.js';

/** A worker's answer to a drain may take this much longer than the drain's own bound. */
const ANSWER_SLACK_MS = 2_000;

/** Every worker drains (its own in-flight requests, bounded); done when all are, or the bound passed. */
export async function drainAll(pool: WorkerPool, ids: readonly string[], timeoutMs: number) {
  // The route that released these targets goes out first: a drain waits for targets out of routing.
  pool.feed.flush();
  const { answers, missing } = await pool.drains.ask(
    pool.started(),
    (id) => ({ type: 'drain', id, ids: [...ids], timeoutMs }),
    timeoutMs + ANSWER_SLACK_MS,
  );
  const cut = answers.reduce((n, a) => n + a.cut, 0);
  return { drained: missing === 0 && answers.every((a) => a.drained), cut };
}

/** A reload's access log (the services arrive with the next snapshot); a worker started later gets it too. */
export function sendAccessLog(pool: WorkerPool, accessLog: Config['accessLog']): void {
  pool.config = { ...pool.config, accessLog };
  pool.broadcast({ type: 'access-log', accessLog });
}

/** A reload's certificates and TLS settings. */
export function sendCertificates(pool: WorkerPool, config: Config): void {
  pool.config = { ...config, accessLog: pool.config.accessLog };
  pool.broadcast({ type: 'certificates', config });
}

export function workersView(pool: WorkerPool): WorkersView {
  return {
    count: pool.members.size,
    primary: { pid: process.pid },
    snapshot: { version: pool.feed.currentVersion, lagMs: pool.feed.lagMs },
    restarts: pool.restarts,
    workers: [...pool.members.values()].map((m) => ({
      id: m.id,
      pid: m.pid,
      startedAt: new Date(m.startedAt).toISOString(),
      listening: m.listening,
      snapshotVersion: m.acked,
      connections: m.connections,
      inFlight: pool.gauges.inFlightOf(m.id),
      loopDelayP99Ms: pool.gauges.loopDelayP99MsOf(m.id),
    })),
  };
}

export function workerMetrics(pool: WorkerPool): ExtraMetric[] {
  const lag = pool.feed.lagMs;
  return [
    {
      name: 'veer_workers',
      help: 'Data-plane worker processes running.',
      type: 'gauge',
      samples: [one(pool.members.size)],
    },
    {
      name: 'veer_worker_restarts_total',
      help: 'Workers replaced after exiting without being asked.',
      type: 'counter',
      samples: [one(pool.restarts)],
    },
    {
      name: 'veer_worker_waiting_connections',
      help: 'Connections the primary accepted that wait for a worker to take them (every worker busy or restarting).',
      type: 'gauge',
      samples: [one(pool.handout.waitingCount)],
    },
    {
      name: 'veer_worker_dropped_connections_total',
      help: 'Connections the primary closed untaken: too many waiting, or none taken within clientHeader.',
      type: 'counter',
      samples: [one(pool.handout.dropped)],
    },
    {
      name: 'veer_worker_snapshot_lag_seconds',
      help: 'Time from the primary sending its last routing change to the last worker applying it.',
      type: 'gauge',
      samples: lag === null ? [] : [one(lag / 1000)],
    },
    loopDelayFamily(
      'veer_worker_event_loop_delay_seconds',
      "Each worker's event loop delay over its last complete 10 s window, by quantile (1 = the largest).",
      pool.gauges.loopDelays().map(({ worker, quantiles }) => ({ labels: { worker: String(worker) }, quantiles })),
    ),
    latenessFamily(
      'veer_worker_event_loop_lateness_seconds',
      "Each worker's event loop delay, every sample of its 10 ms timer since it started, at its last report.",
      pool.gauges.latenesses().map(({ worker, counts }) => ({ labels: { worker: String(worker) }, counts })),
    ),
  ];
}

const one = (value: number) => ({ labels: {}, value });
