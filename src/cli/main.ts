// Dispatch: parse, answer --help/--version, check the command's arguments, run it.
import { checkCommandArgs, parseCliArgs } from './args.js';
import { EXIT, type CliIO, type Command, type ExitCode } from './command.js';
import { shiftCommand } from './commands/shift.js';
import { startCommand } from './commands/start.js';
import { statusCommand } from './commands/status.js';
import { validateCommand } from './commands/validate.js';
import { readVersion } from './version.js';

export const COMMANDS: readonly Command[] = [startCommand, validateCommand, statusCommand, shiftCommand];

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.synopsis.length));
  return [
    'veer: front-door reverse proxy with canary rollouts',
    '',
    'Usage:',
    ...COMMANDS.map((c) => `  veer ${c.synopsis.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    '  -c, --config <file>  config file (default: $VEER_CONFIG, else proxy.config.yaml)',
    '      --admin <url>    admin API (default: $VEER_ADMIN_URL, else http://127.0.0.1:9090)',
    '      --token <token>  admin API token (default: $VEER_ADMIN_TOKEN; prefer the variable:',
    '                       arguments are visible to other users in the process list)',
    '      --json           print the API response as JSON',
    '  -h, --help           show this help',
    '  -V, --version        print the version',
    '',
    'Exit codes: 0 ok, 1 failed, 2 invalid config, 64 usage error',
  ].join('\n');
}

export async function runCli(argv: readonly string[], io: CliIO): Promise<ExitCode> {
  const parsed = parseCliArgs(argv);
  if (!parsed.ok) return usageError(io, parsed.error.message);
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
  if (!checked.ok) {
    io.err(`error: ${checked.error.message}`);
    io.err(`usage: veer ${command.synopsis}   (veer --help for more)`);
    return EXIT.usage;
  }
  return command.run(args, io);
}

function usageError(io: CliIO, message: string): ExitCode {
  io.err(`error: ${message}`);
  io.err('');
  io.err(usage());
  return EXIT.usage;
}
