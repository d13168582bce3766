// The gauges and counters /metrics shows beside the per-pool windows: routing, target state, what
// veer answered itself, and the rollout phase, step and verdict of each service.
import type { DataPlane } from './dataplane/dataplane.js';
import { POOL_NAMES } from './domain/pool.js';
import type { Phase } from './domain/rollout.js';
import { bpToPercent } from './domain/weight.js';
import type { ExtraMetric as GaugeFamily } from './metrics/prometheus.js';
import type { RolloutController } from './rollout/controller.js';

const PHASES: readonly Phase[] = [
  'starting',
  'progressing',
  'paused',
  'promoting',
  'succeeded',
  'rolling-back',
  'rolled-back',
  'aborted',
];

export function gauges(plane: DataPlane, rollouts: Pick<RolloutController, 'status'>): GaugeFamily[] {
  const weight: GaugeFamily = {
    name: 'veer_canary_weight_percent',
    help: 'Share of traffic routed to the canary pool.',
    type: 'gauge',
    samples: [],
  };
  const healthy: GaugeFamily = {
    name: 'veer_target_healthy',
    help: '1 when the target is healthy and not ejected.',
    type: 'gauge',
    samples: [],
  };
  const outstanding: GaugeFamily = {
    name: 'veer_target_outstanding_requests',
    help: 'Requests in flight to the target.',
    type: 'gauge',
    samples: [],
  };
  for (const name of plane.serviceNames()) {
    weight.samples.push({ labels: { service: name }, value: bpToPercent(plane.weight(name) ?? 0) });
    for (const pool of POOL_NAMES) {
      for (const t of plane.targets(name, pool)) {
        const labels = { service: name, pool, target: t.id };
        healthy.samples.push({ labels, value: t.healthy && !t.ejected ? 1 : 0 });
        outstanding.samples.push({ labels, value: t.outstanding });
      }
    }
  }
  const phase: GaugeFamily = {
    name: 'veer_rollout_phase',
    help: "1 for the phase the service's latest rollout is in.",
    type: 'gauge',
    samples: [],
  };
  const verdict: GaugeFamily = {
    name: 'veer_rollout_last_verdict',
    help: '1 for the result of the latest analysis (pass, fail, inconclusive).',
    type: 'gauge',
    samples: [],
  };
  const step: GaugeFamily = {
    name: 'veer_rollout_step',
    help: 'Current step of the latest rollout (0-based).',
    type: 'gauge',
    samples: [],
  };
  for (const name of plane.serviceNames()) {
    const r = rollouts.status(name);
    if (r === null) continue;
    for (const p of PHASES) phase.samples.push({ labels: { service: name, phase: p }, value: r.phase === p ? 1 : 0 });
    step.samples.push({ labels: { service: name }, value: r.step });
    for (const v of ['pass', 'fail', 'inconclusive'] as const)
      verdict.samples.push({ labels: { service: name, result: v }, value: r.lastVerdict?.result === v ? 1 : 0 });
  }
  const inflight: GaugeFamily = {
    name: 'veer_inflight_requests',
    help: 'Client requests being proxied now.',
    type: 'gauge',
    samples: [{ labels: {}, value: plane.inFlight }],
  };
  const answers: GaugeFamily = {
    name: 'veer_proxy_answers_total',
    help: 'Requests veer answered itself (refused, cut by a drain, no target) or whose client left, by code; none of them counts against a pool.',
    type: 'counter',
    samples: plane.answers.entries().map(([code, value]) => ({ labels: { code }, value })),
  };
  return [weight, healthy, outstanding, inflight, phase, step, verdict, answers];
}
