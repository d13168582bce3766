// Dispatch: parse, answer --help/--version, check the command's arguments, run it.
import { checkCommandArgs, parseCliArgs } from './args.js';
import { EXIT, type CliIO, type Command, type ExitCode } from './command.js';
import { abortCommand, pauseCommand, promoteCommand, resumeCommand } from './commands/actions.js';
import { historyCommand, retryCommand, undoCommand } from './commands/history.js';
import { maintenanceCommand } from './commands/maintenance.js';
import { pruneCommand } from './commands/prune.js';
import { reloadCommand } from './commands/reload.js';
import { rolloutCommand } from './commands/rollout.js';
import { shiftCommand } from './commands/shift.js';
import { simulateCommand } from './commands/simulate.js';
import { startCommand } from './commands/start.js';
import { statusCommand } from './commands/status.js';
import { validateCommand } from './commands/validate.js';
import { printable } from './printable.js';
import { readVersion } from './version.js';

export const COMMANDS: readonly Command[] = [
  startCommand,
  validateCommand,
  statusCommand,
  shiftCommand,
  rolloutCommand,
  promoteCommand,
  abortCommand,
  pauseCommand,
  resumeCommand,
  historyCommand,
  undoCommand,
  retryCommand,
  pruneCommand,
  reloadCommand,
  maintenanceCommand,
  simulateCommand,
];

/** Synopses longer than this get their summary on the next line. */
const SYNOPSIS_COLUMN = 36;

export function usage(): string {
  const width = Math.min(SYNOPSIS_COLUMN, Math.max(...COMMANDS.map((c) => c.synopsis.length)));
  const pad = ' '.repeat(width + 9);
  return [
    'veer: front-door reverse proxy with canary rollouts',
    '',
    'Usage:',
    ...COMMANDS.flatMap((c) =>
      c.synopsis.length > width
        ? [`  veer ${c.synopsis}`, `${pad}${c.summary}`]
        : [`  veer ${c.synopsis.padEnd(width)}  ${c.summary}`],
    ),
    '',
    'Options:',
    '  -c, --config <file>  config file (default: $VEER_CONFIG, else proxy.config.yaml)',
    '      --admin <url>    admin API (default: $VEER_ADMIN_URL, else http://127.0.0.1:9090)',
    '      --token <token>  admin API token (default: $VEER_ADMIN_TOKEN; prefer the variable:',
    '                       arguments are visible to other users in the process list)',
    '      --json           print JSON: the API response (simulate: its figures)',
    '  -h, --help           show this help',
    '  -V, --version        print the version',
    '',
    'Rollout options:',
    '      --targets <h:p,…>      the new pool: static targets',
    '      --image <img>          the new pool: containers of this image (--env K=V repeatable, --count N)',
    '      --steps <5,25,100>     canary weights in percent, ascending; once the last step below 100 passes,',
    '                             the canary is promoted (takes all traffic): a final 100 is not waited at',
    '      --step-interval <30s>  time at each step (and enough requests) before the next',
    '      --strategy <s>         canary or blue-green',
    '      --wait                 follow the rollout (also undo, retry); exit 0 succeeded, 1 rolled back or aborted',
    '      --timeout <1h>         with --wait: give up waiting after this long (exit 1; the rollout keeps running)',
    '',
    'Status options:',
    '  -w, --watch                refresh in place (alternate screen; plain blocks when piped) until Ctrl+C',
    '      --interval <2s>        how often --watch reads the numbers (also at once on each event)',
    '      --timeout <24h>        --watch ends after this long (exit 0)',
    '',
    'Simulate options:',
    '      --runs <200>           seeded rollouts to run (seeds S, S+1, …)',
    '      --seed <1>             the first seed (S)',
    "      --policy <file>        rollout keys (YAML or JSON) overriding the scenario's policy",
    '      --max-seconds <3600>   virtual seconds a rollout may last (then: running)',
    '',
    'Exit codes: 0 ok, 1 failed, 2 invalid config (simulate: invalid scenario, policy or option), 64 usage error',
  ].join('\n');
}

/**
 * Runs one command line. Everything printed through `io` is made printable (see printable.ts), and an
 * exception nothing expected (a bug) is one line, never a stack trace or a raw JavaScript message.
 */
export async function runCli(argv: readonly string[], rawIO: CliIO): Promise<ExitCode> {
  const io = printableIO(rawIO);
  try {
    return await dispatch(argv, io);
  } catch (e) {
    io.err(internalError(e));
    return EXIT.failure;
  }
}

/** The class of the error only: its message may be anything, and the user can do nothing with it. */
export function internalError(e: unknown): string {
  const kind = e instanceof Error ? e.name : typeof e;
  return `error: internal error in veer (${kind}); please report it with the command line that caused it`;
}

function printableIO(io: CliIO): CliIO {
  return {
    ...io,
    out: (line) => io.out(printable(line)),
    err: (line) => io.err(printable(line)),
    ...(io.progress ? { progress: (text: string) => io.progress?.(printable(text)) } : {}),
  };
}

async function dispatch(argv: readonly string[], io: CliIO): Promise<ExitCode> {
  const parsed = parseCliArgs(argv);
  if (!parsed.ok)
    return lineError(
      io,
      parsed.error.message,
      COMMANDS.find((c) => c.name === parsed.error.command),
    );
  const args = parsed.value;
  if (args.values.version) {
    io.out(readVersion());
    return EXIT.ok;
  }
  if (args.values.help) {
    io.out(usage());
    return EXIT.ok;
  }
  if (args.command === undefined) return usageError(io, 'missing command');
  const command = COMMANDS.find((c) => c.name === args.command);
  if (!command) return usageError(io, `unknown command "${args.command}"`);
  const checked = checkCommandArgs(args, command);
  if (!checked.ok) return lineError(io, checked.error.message, command);
  return command.run(args, io);
}

/** A mistyped line: what was wrong and the command's synopsis, not the whole usage (it hides the error). */
function lineError(io: CliIO, message: string, command: Command | undefined): ExitCode {
  io.err(`error: ${message}`);
  io.err(`usage: veer ${command?.synopsis ?? '<command> [options]'}   (veer --help for more)`);
  return EXIT.usage;
}

function usageError(io: CliIO, message: string): ExitCode {
  io.err(`error: ${message}`);
  io.err('');
  io.err(usage());
  return EXIT.usage;
}
