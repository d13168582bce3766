// `veer simulate <scenario.mjs> [--runs N] [--policy file] [--seed S] [--max-seconds N] [--json]`:
// what a rollout policy would do with a service's traffic, before a real rollout. It runs locally
// (no admin API): N seeded rollouts of the real controller, machine and judge on a virtual clock,
// then how often each outcome came, how long it took and how many failed requests users saw first.
// The scenario runs on its own thread (simulation/thread.ts). Exit 0 whatever the outcomes; 2 for a
// bad scenario, policy or option, or a scenario that exits, hangs or never returns.
import { err, ok, type Result } from '../../domain/errors.js';
import type { OptionValues } from '../args.js';
import { EXIT, type CliIO, type Command, type ExitCode } from '../command.js';
import type { SimJob } from '../simulation/job.js';
import { MAX_RUNS, MAX_SECONDS_LIMIT, MAX_SEED } from '../simulation/limits.js';
import { jsonReport, textReport } from '../simulation/report.js';
import { summarize } from '../simulation/summary.js';
import { runOnThread } from '../simulation/thread.js';

export const DEFAULT_RUNS = 200;
export const DEFAULT_SEED = 1;
/** A progress line appears only for simulations that take longer than this, and changes at most this often. */
const PROGRESS_AFTER_MS = 1000;
const PROGRESS_EVERY_MS = 200;

export const simulateCommand: Command = {
  name: 'simulate',
  synopsis: 'simulate <scenario.mjs> [--runs N] [--policy file] [--seed S] [--max-seconds N] [--json]',
  summary: "run seeded rollouts of a policy against a scenario's traffic on a virtual clock (local)",
  options: ['runs', 'policy', 'seed', 'max-seconds', 'json'],
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const job = jobOf(args.positionals[0] as string, args.values);
    if (!job.ok) return invalid(io, job.error);
    const done = await runOnThread(job.value, progressShower(job.value, io));
    io.progress?.('');
    if (!done.ok) return invalid(io, done.error);
    const { runs, seed, path } = job.value;
    const context = {
      scenario: path,
      seeds: { first: seed, last: seed + runs - 1 },
      maxSeconds: done.value.maxSeconds,
      policy: done.value.shownPolicy,
    };
    const summary = summarize(done.value.records);
    if (args.values.json) io.out(JSON.stringify(jsonReport(summary, context)));
    else textReport(summary, context).forEach((line) => io.out(line));
    return EXIT.ok;
  },
};

function invalid(io: CliIO, message: string): ExitCode {
  io.err(`error: ${message}`);
  return EXIT.config;
}

function jobOf(path: string, v: OptionValues): Result<SimJob, string> {
  const runs = wholeNumber('--runs', v.runs, DEFAULT_RUNS, 1, MAX_RUNS);
  if (!runs.ok) return runs;
  const seed = wholeNumber('--seed', v.seed, DEFAULT_SEED, 0, MAX_SEED);
  if (!seed.ok) return seed;
  // Run i uses seed + i, and a seed past MAX_SEED wraps to 0: the report would name seeds never run.
  if (seed.value + runs.value - 1 > MAX_SEED) {
    const most = MAX_SEED - runs.value + 1;
    return err(
      `--seed ${seed.value} with --runs ${runs.value} would go past the largest seed, ${MAX_SEED}: ` +
        `expected a --seed of at most ${most} for ${runs.value} runs (or fewer --runs)`,
    );
  }
  const max = wholeNumber('--max-seconds', v['max-seconds'], undefined, 1, MAX_SECONDS_LIMIT);
  if (!max.ok) return max;
  return ok({ path, runs: runs.value, seed: seed.value, maxSeconds: max.value, policyPath: v.policy });
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

/** Only for simulations long enough to wonder about, and at most every PROGRESS_EVERY_MS. */
function progressShower(job: SimJob, io: CliIO): (done: number) => void {
  const started = Date.now();
  let shown = 0;
  return (done) => {
    const now = Date.now();
    if (!io.progress || now - started < PROGRESS_AFTER_MS || now - shown < PROGRESS_EVERY_MS) return;
    io.progress(`simulating ${job.path}: ${done}/${job.runs} rollouts`);
    shown = now;
  };
}
