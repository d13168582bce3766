// One `veer simulate` job, as the simulation thread runs it: load the scenario, merge and check the
// policy, run the seeded rollouts. Everything that runs the scenario's own code is here, so that the
// thread can be stopped when that code never returns (see thread.ts).
import { ok, type Result } from '../../domain/errors.js';
import type { TrafficContext } from '../../simulate.js';
import { loadScenario } from './scenario.js';
import { runRecord, type RunRecord } from './summary.js';

export const DEFAULT_MAX_SECONDS = 3600;

export interface SimJob {
  path: string;
  runs: number;
  seed: number;
  /** --max-seconds, when given. */
  maxSeconds: number | undefined;
  policyPath: string | undefined;
}

export interface SimDone {
  records: RunRecord[];
  maxSeconds: number;
  /** Defaults applied, config form, as printed. */
  shownPolicy: Record<string, unknown>;
}

/** Where the scenario's code is: `second` -1 while the module loads. Written before each call into it. */
export interface Heartbeat {
  enter(second: number, pool: TrafficContext['pool'] | null): void;
}

export async function runJob(
  job: SimJob,
  beat: Heartbeat,
  progress: (done: number) => void,
): Promise<Result<SimDone, string>> {
  beat.enter(-1, null);
  const scenario = await loadScenario(job.path);
  if (!scenario.ok) return scenario;
  // Loaded here, not at start: other commands need neither the YAML parser nor the schema.
  const { loadPolicyFile, policyConfigForm, simulationPolicy } = await import('./policy.js');
  const file = job.policyPath === undefined ? ok({}) : await loadPolicyFile(job.policyPath);
  if (!file.ok) return file;
  const policy = simulationPolicy(scenario.value, file.value);
  if (!policy.ok) return policy;
  const maxSeconds = job.maxSeconds ?? scenario.value.maxSeconds ?? DEFAULT_MAX_SECONDS;
  const { simulateRollout } = await import('../../simulate.js');
  const { ScenarioError, checkedTraffic } = await import('./checked-traffic.js');
  const checked = checkedTraffic(job.path, scenario.value.traffic);
  const traffic = (ctx: TrafficContext) => (beat.enter(ctx.second, ctx.pool), checked(ctx));
  const records: RunRecord[] = [];
  try {
    for (let i = 0; i < job.runs; i++) {
      const seed = job.seed + i;
      const run = await simulateRollout({ policy: policy.value.raw, seed, maxSeconds, traffic });
      records.push(runRecord(seed, run));
      progress(i + 1);
    }
  } catch (e) {
    if (e instanceof ScenarioError) return { ok: false, error: e.message };
    throw e;
  }
  return ok({ records, maxSeconds, shownPolicy: policyConfigForm(policy.value.policy) });
}
