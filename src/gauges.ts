// The gauges and counters /metrics shows beside the per-pool windows: routing, target state, what
// veer answered itself, and the rollout phase, step and verdict of each service.
import type { DataPlane } from './dataplane/dataplane.js';
import { POOL_NAMES, type PoolName } from './domain/pool.js';
import { PHASES } from './domain/rollout.js';
import { bpToPercent } from './domain/weight.js';
import type { ExtraMetric as GaugeFamily } from './metrics/prometheus.js';
import type { RolloutController } from './rollout/controller.js';
import type { MembershipView } from './rollout/desk.js';

/** What the data-plane workers hold (`workers` > 1), added to this process's own figures. */
export interface WorkerGauges {
  readonly inFlight: number;
  readonly waiting: number;
  accessLines(): { written: number; dropped: number };
  outstanding(): (service: string, pool: PoolName, target: string) => number;
}

const NO_WORKERS: WorkerGauges = {
  inFlight: 0,
  waiting: 0,
  accessLines: () => ({ written: 0, dropped: 0 }),
  outstanding: () => () => 0,
};

export function gauges(
  plane: DataPlane,
  rollouts: Pick<RolloutController, 'status'>,
  membership: MembershipView,
  workers: WorkerGauges = NO_WORKERS,
): GaugeFamily[] {
  return [
    ...routingGauges(plane, membership, workers),
    ...rolloutGauges(plane, rollouts),
    ...answerGauges(plane, workers),
    ...accessLogCounters(plane, workers),
  ];
}

const family = (name: string, help: string, type: GaugeFamily['type'] = 'gauge'): GaugeFamily => ({
  name,
  help,
  type,
  samples: [],
});

/** Weight and per-target state, as the data plane routes now. */
function routingGauges(plane: DataPlane, membership: MembershipView, workers: WorkerGauges): GaugeFamily[] {
  const weight = family('veer_canary_weight_percent', 'Share of traffic routed to the canary pool.');
  const healthy = family('veer_target_healthy', '1 when the target is healthy and not ejected.');
  const stale = family(
    'veer_target_stale',
    '1 when the target is a Docker container whose engine does not answer: routed on its last known membership.',
  );
  const ejected = family(
    'veer_target_ejected',
    '1 while the target is ejected after consecutive failures (outlier detection): it gets no traffic.',
  );
  const outstanding = family('veer_target_outstanding_requests', 'Requests in flight to the target.');
  const workersOutstanding = workers.outstanding();
  for (const name of plane.serviceNames()) {
    weight.samples.push({ labels: { service: name }, value: bpToPercent(plane.weight(name) ?? 0) });
    const staleIds = membership.staleTargets(name);
    for (const pool of POOL_NAMES) {
      for (const t of plane.targets(name, pool)) {
        const labels = { service: name, pool, target: t.id };
        healthy.samples.push({ labels, value: t.healthy && !t.ejected ? 1 : 0 });
        stale.samples.push({ labels, value: staleIds.has(t.id) ? 1 : 0 });
        ejected.samples.push({ labels, value: t.ejected ? 1 : 0 });
        outstanding.samples.push({ labels, value: t.outstanding + workersOutstanding(name, pool, t.id) });
      }
    }
  }
  return [weight, healthy, stale, ejected, outstanding];
}

/** Each service's latest rollout: phase, step and last verdict. */
function rolloutGauges(plane: DataPlane, rollouts: Pick<RolloutController, 'status'>): GaugeFamily[] {
  const phase = family('veer_rollout_phase', "1 for the phase the service's latest rollout is in.");
  const step = family('veer_rollout_step', 'Current step of the latest rollout (0-based).');
  const verdict = family(
    'veer_rollout_last_verdict',
    '1 for the result of the latest analysis (pass, fail, inconclusive).',
  );
  for (const name of plane.serviceNames()) {
    const r = rollouts.status(name);
    if (r === null) continue;
    for (const p of PHASES) phase.samples.push({ labels: { service: name, phase: p }, value: r.phase === p ? 1 : 0 });
    step.samples.push({ labels: { service: name }, value: r.step });
    for (const v of ['pass', 'fail', 'inconclusive'] as const)
      verdict.samples.push({ labels: { service: name, result: v }, value: r.lastVerdict?.result === v ? 1 : 0 });
  }
  return [phase, step, verdict];
}

/** Requests in flight, and what veer answered itself. */
function answerGauges(plane: DataPlane, workers: WorkerGauges): GaugeFamily[] {
  const inflight = family('veer_inflight_requests', 'Client requests being proxied now.');
  inflight.samples.push({ labels: {}, value: plane.inFlight + workers.inFlight });
  const waiting = family(
    'veer_waiting_requests',
    'Client requests waiting for a target their service may use (proxy.timeouts.waitForTarget), now.',
  );
  waiting.samples.push({ labels: {}, value: plane.waiting + workers.waiting });
  const answers = family(
    'veer_proxy_answers_total',
    'Requests veer answered itself (refused, cut by a drain, no target) or whose client left, by code; ' +
      'none of them counts against a pool.',
    'counter',
  );
  for (const [code, value] of plane.answers.entries()) answers.samples.push({ labels: { code }, value });
  return [inflight, waiting, answers];
}

/** Access lines written, and dropped because the output could not keep up (or failed). */
function accessLogCounters(plane: DataPlane, workers: WorkerGauges): GaugeFamily[] {
  const own = plane.accessLog.counts();
  const theirs = workers.accessLines();
  const [written, dropped] = [own.written + theirs.written, own.dropped + theirs.dropped];
  const lines = family('veer_access_log_lines_total', 'Access log lines written.', 'counter');
  lines.samples.push({ labels: {}, value: written });
  const lost = family(
    'veer_access_log_dropped_total',
    'Access log lines dropped: the output could not keep up (buffer bound reached) or a write failed.',
    'counter',
  );
  lost.samples.push({ labels: {}, value: dropped });
  return [lines, lost];
}
