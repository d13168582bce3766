// `veer simulate <scenario.mjs> [--runs N] [--policy file] [--seed S] [--max-seconds N] [--json]`:
// what a rollout policy would do with a service's traffic, before a real rollout. It runs locally
// (no admin API): N seeded rollouts of the real controller, machine and judge on a virtual clock,
// then how often each outcome came, how long it took and how many failed requests users saw first.
// Exit 0 whatever the outcomes; 2 for a bad scenario, policy or option.
import { err, ok, type Result } from '../../domain/errors.js';
import type { OptionValues } from '../args.js';
import { EXIT, type CliIO, type Command, type ExitCode } from '../command.js';
import { MAX_RUNS, MAX_SECONDS_LIMIT, MAX_SEED } from '../simulation/limits.js';
import { jsonReport, textReport } from '../simulation/report.js';
import { loadScenario, type Scenario } from '../simulation/scenario.js';
import { runRecord, summarize, type RunRecord } from '../simulation/summary.js';

export const DEFAULT_RUNS = 200;
export const DEFAULT_SEED = 1;
/** The simulator's own default. */
export const DEFAULT_MAX_SECONDS = 3600;
/** A progress line appears only for simulations that take longer than this, and changes at most this often. */
const PROGRESS_AFTER_MS = 1000;
const PROGRESS_EVERY_MS = 200;

interface Plan {
  scenario: Scenario;
  runs: number;
  seed: number;
  maxSeconds: number;
  /** Config form, as the simulator takes it. */
  policy: Record<string, unknown>;
  /** Defaults applied, config form, as printed. */
  shownPolicy: Record<string, unknown>;
}

export const simulateCommand: Command = {
  name: 'simulate',
  synopsis: 'simulate <scenario.mjs> [--runs N] [--policy file] [--seed S] [--max-seconds N] [--json]',
  summary: "run seeded rollouts of a policy against a scenario's traffic on a virtual clock (local)",
  options: ['runs', 'policy', 'seed', 'max-seconds', 'json'],
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const plan = await planOf(args.positionals[0] as string, args.values);
    if (!plan.ok) return invalid(io, plan.error);
    const ran = await runAll(plan.value, io);
    if (!ran.ok) return invalid(io, ran.error);
    const { scenario, seed, runs, maxSeconds, shownPolicy } = plan.value;
    const context = {
      scenario: scenario.path,
      seeds: { first: seed, last: seed + runs - 1 },
      maxSeconds,
      policy: shownPolicy,
    };
    const summary = summarize(ran.value);
    if (args.values.json) io.out(JSON.stringify(jsonReport(summary, context)));
    else textReport(summary, context).forEach((line) => io.out(line));
    return EXIT.ok;
  },
};

function invalid(io: CliIO, message: string): ExitCode {
  io.err(`error: ${message}`);
  return EXIT.config;
}

async function planOf(path: string, v: OptionValues): Promise<Result<Plan, string>> {
  const runs = wholeNumber('--runs', v.runs, DEFAULT_RUNS, 1, MAX_RUNS);
  if (!runs.ok) return runs;
  const seed = wholeNumber('--seed', v.seed, DEFAULT_SEED, 0, MAX_SEED);
  if (!seed.ok) return seed;
  const max = wholeNumber('--max-seconds', v['max-seconds'], undefined, 1, MAX_SECONDS_LIMIT);
  if (!max.ok) return max;
  const scenario = await loadScenario(path);
  if (!scenario.ok) return scenario;
  // Loaded here, not at start: other commands need neither the YAML parser nor the schema.
  const { loadPolicyFile, policyConfigForm, simulationPolicy } = await import('../simulation/policy.js');
  const file = v.policy === undefined ? ok({}) : await loadPolicyFile(v.policy);
  if (!file.ok) return file;
  const policy = simulationPolicy(scenario.value, file.value);
  if (!policy.ok) return policy;
  return ok({
    scenario: scenario.value,
    runs: runs.value,
    seed: seed.value,
    maxSeconds: max.value ?? scenario.value.maxSeconds ?? DEFAULT_MAX_SECONDS,
    policy: policy.value.raw,
    shownPolicy: policyConfigForm(policy.value.policy),
  });
}

/** An option's whole number within [min, max]; `fallback` when it was not given. */
export function wholeNumber<F extends number | undefined>(
  name: string,
  given: string | undefined,
  fallback: F,
  min: number,
  max: number,
): Result<number | F, string> {
  if (given === undefined) return ok(fallback);
  const n = /^\s*\d+\s*$/.test(given) ? Number(given) : NaN;
  if (Number.isSafeInteger(n) && n >= min && n <= max) return ok(n);
  return err(`${name}: expected a whole number from ${min} to ${max}, got "${given}"`);
}

async function runAll(p: Plan, io: CliIO): Promise<Result<RunRecord[], string>> {
  const { simulateRollout } = await import('../../simulate.js');
  const { ScenarioError, checkedTraffic } = await import('../simulation/checked-traffic.js');
  const traffic = checkedTraffic(p.scenario.path, p.scenario.traffic);
  const records: RunRecord[] = [];
  const started = Date.now();
  let shown = 0;
  try {
    for (let i = 0; i < p.runs; i++) {
      const seed = p.seed + i;
      records.push(
        runRecord(seed, await simulateRollout({ policy: p.policy, seed, maxSeconds: p.maxSeconds, traffic })),
      );
      const now = Date.now();
      if (io.progress && now - started >= PROGRESS_AFTER_MS && now - shown >= PROGRESS_EVERY_MS) {
        io.progress(`simulating ${p.scenario.path}: ${i + 1}/${p.runs} rollouts`);
        shown = now;
      }
    }
  } catch (e) {
    if (e instanceof ScenarioError) return err(e.message);
    throw e;
  } finally {
    if (shown > 0) io.progress?.('');
  }
  return ok(records);
}
