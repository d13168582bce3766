// `veer start [-c file]`: load the config, run the proxy until SIGTERM/SIGINT, then shut down
// gracefully. A second signal means "now": an operator who presses Ctrl-C twice is not kept waiting.
// SIGHUP re-reads the file (what `veer reload` asks through the admin API); SIGUSR1 reopens a file
// access log (log rotation).
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { ConfigError, errorMessage } from '../../domain/errors.js';
import { jsonLogger } from '../../domain/log.js';
import { guardStrayErrors } from '../../domain/stray-errors.js';
import { EXIT, type CliIO, type Command, type ExitCode } from '../command.js';
import { configOptionProblem, loadConfigOrReport } from '../config-path.js';

export const startCommand: Command = {
  name: 'start',
  synopsis: 'start [-c file]',
  summary: 'run the proxy (data plane, admin API, rollout controllers)',
  options: ['config'],
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    // From here on, an error nothing handled is logged as a line and (a rejection) does not end the proxy.
    guardStrayErrors(process, { log: jsonLogger(), now: () => performance.now(), exit: (code) => process.exit(code) });
    // A worker of `workers: N` (forked by the primary with the same command line): the primary sends it
    // the config and everything it routes from.
    if (cluster.isWorker) return (await import('../../workers/worker-main.js')).runWorker() as Promise<ExitCode>;
    const problem = configOptionProblem(args.values);
    if (problem !== null) {
      io.err(`error: ${problem}`);
      return EXIT.usage;
    }
    const loaded = await loadConfigOrReport(args.values, io);
    if (loaded === null) return EXIT.config;
    // Loading ran the same preflight as `veer validate` (and printed its warnings): what is left to
    // fail is what only running can find.
    const { config, path } = loaded;
    const { formatProblems } = await import('../../config/problems.js');
    const { startVeer } = await import('../../main.js');
    const { workerCount } = await import('../../workers/count.js');
    const { applyScavengePolicy } = await import('../../workers/scavenge.js');
    const cores = availableParallelism();
    const workers = workerCount(config, cores);
    if (applyScavengePolicy(cores, workers))
      jsonLogger().log('info', 'young generation collected without helper threads', { cores, dataPlanes: workers });
    let running: Stoppable;
    try {
      running = await startVeer(config, { configPath: path, workers });
    } catch (e) {
      if (e instanceof ConfigError) {
        io.err(formatProblems(e, path));
        return EXIT.config;
      }
      io.err(`error: cannot start veer: ${errorMessage(e)}`);
      return EXIT.failure;
    }
    return untilSignal(running, io);
  },
};

interface Stoppable {
  close(): Promise<void>;
  reload(trigger: 'signal'): Promise<{ ok: boolean }>;
  reopenLogs(): void;
}

function untilSignal(running: Stoppable, io: CliIO): Promise<ExitCode> {
  // The reloader logs what it applied or why it refused; a failure here is not a reason to stop.
  process.on('SIGHUP', () => void running.reload('signal').catch(() => undefined));
  process.on('SIGUSR1', () => running.reopenLogs());
  return new Promise((resolve) => {
    let closing = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (closing) {
        io.err(`${signal} again: exiting without waiting for shutdown`);
        process.exit(EXIT.failure);
      }
      closing = true;
      running.close().then(
        () => resolve(EXIT.ok),
        (e: unknown) => {
          io.err(`error: shutdown failed: ${errorMessage(e)}`);
          resolve(EXIT.failure);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
