// A line node:util's parseArgs cannot read (an unknown option, an option without its value): one line
// naming the option, then the command's synopsis when the line names a command, exit 64; never Node's own
// multi-line text and the whole 50-line usage. Through runCli as the executable calls it.
import { describe, expect, it } from 'vitest';
import { OPTIONS } from '../../../src/cli/args.js';
import type { CliIO } from '../../../src/cli/command.js';
import { runCli } from '../../../src/cli/main.js';

/** Port 9 (discard) on loopback: refused at once, should any command get that far. */
const ENV = { VEER_ADMIN_URL: 'http://127.0.0.1:9' };
const MORE = '   (veer --help for more)';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (l) => out.push(l), err: (l) => err.push(l), env: ENV };
  const code = await runCli(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('a line parseArgs cannot read', () => {
  it.each([
    [['--bogus'], 'unknown option --bogus', 'veer <command> [options]'],
    [['validate', '--bogus=1'], 'unknown option --bogus', 'veer validate [-c file]'],
    [['rollout', 'web', '--targets', 'a:1', '-xyz'], 'unknown option -x', 'veer rollout <service> (--targets'],
    [['validate', '-c'], '--config needs a value (a file path)', 'veer validate [-c file]'],
    [
      ['validate', '-c', '--json'],
      '--config needs a value (a file path), got the option --json (a value starting with "-" is written ' +
        '--config=--json)',
      'veer validate [-c file]',
    ],
    [['status', '--json=1'], '--json takes no value, got "--json=1"', 'veer status [service]'],
    [['status', '--json', '--json'], 'option --json is given more than once: give it once', 'veer status [service]'],
  ])('%j: one line, then the synopsis, exit 64', async (argv, message, synopsis) => {
    const r = await cli(argv);
    expect(r.code).toBe(64);
    expect(r.out).toBe('');
    const lines = r.err.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(`error: ${message}`);
    expect(lines[1]?.startsWith(`usage: ${synopsis}`), lines[1]).toBe(true);
    expect(lines[1]?.endsWith(MORE), lines[1]).toBe(true);
  });

  it('every option that takes a value says what it wants when it has none', async () => {
    const valued = Object.entries(OPTIONS).filter(([, o]) => o.type === 'string');
    expect(valued.length).toBeGreaterThan(10);
    for (const [name] of valued) {
      const r = await cli(['status', `--${name}`]);
      expect(r.code, name).toBe(64);
      expect(r.err.split('\n')[0], name).toMatch(new RegExp(`^error: --${name} needs a value \\([a-zA-Z][^)]+\\)$`));
    }
  });
});
