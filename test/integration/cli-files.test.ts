// Files the operator names, as the built CLI (dist/cli.js, `npm run build` first) reads them:
// `validate -c`, `start -c` and `simulate --policy` take only regular files up to 4 MiB, and say in
// plain words why another path cannot be read. A FIFO used to hang forever, /dev/zero ran out of
// memory ("Invalid string length"), and link loops printed `ELOOP: too many symbolic links…`.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVeer, type CliRun } from '../helpers/cli.js';

let tmp: string;
const veer = (args: string[]): Promise<CliRun> => runVeer(args, { entry: 'dist', timeoutMs: 15_000 });

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'veer-cli-files-'));
  execFileSync('mkfifo', [join(tmp, 'fifo.yaml')]);
  await symlink(join(tmp, 'loop-b'), join(tmp, 'loop-a'));
  await symlink(join(tmp, 'loop-a'), join(tmp, 'loop-b'));
  await writeFile(join(tmp, 'big.yaml'), '');
  await truncate(join(tmp, 'big.yaml'), 5 * 1024 * 1024);
  await writeFile(join(tmp, 'binary.yaml'), Buffer.from([0x1b, 0x5d, 0x30, 0x3b, 0x78, 0x07, 0x3a, 0x09, 0x00, 0x9b]));
  await writeFile(join(tmp, 'list.yaml'), '- 1\n- 2\n');
  await writeFile(join(tmp, 'scenario.mjs'), 'export function traffic() { return []; }\n');
});

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** The path in a message as veer prints it. */
const at = (name: string): string => join(tmp, name);

describe('validate -c and start -c', () => {
  it.each([
    ['fifo.yaml', 'not a regular file (a named pipe)'],
    ['loop-a', 'too many symbolic links (a link that points back to itself?)'],
    ['big.yaml', 'it is larger than 4 MiB, the most read'],
    ['.', 'it is a directory'],
    ['missing.yaml', 'no such file'],
  ])('%s: exit 2, %s', async (name, why) => {
    const [validate, start] = await Promise.all([veer(['validate', '-c', at(name)]), veer(['start', '-c', at(name)])]);
    for (const r of [validate, start]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`cannot read config file ${at(name)}: ${why}`);
      expect(r.stderr).not.toMatch(/E[A-Z]{3,}:|RangeError|Invalid string length/);
    }
  });

  it('/dev/zero and a too long name are refused in plain words', async () => {
    const long = join(tmp, 'x'.repeat(5000));
    const [zero, name] = await Promise.all([veer(['validate', '-c', '/dev/zero']), veer(['validate', '-c', long])]);
    expect([zero.code, name.code]).toEqual([2, 2]);
    expect(zero.stderr).toContain('cannot read config file /dev/zero: not a regular file (a device)');
    expect(name.stderr).toContain(': the path is too long');
  });

  it('a binary file has its control bytes escaped in the YAML error', async () => {
    const r = await veer(['validate', '-c', at('binary.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });

  it('--config= (an empty value) is a usage error', async () => {
    const r = await veer(['validate', '--config=']);
    expect(r.code).toBe(64);
    expect(r.stderr).toBe('error: --config: expected the path of a config file, got an empty value\n');
  });
});

describe('simulate --policy', () => {
  it('refuses a FIFO at once, and says what a YAML list is', async () => {
    const scenario = at('scenario.mjs');
    const [fifo, list] = await Promise.all([
      veer(['simulate', scenario, '--runs', '1', '--policy', at('fifo.yaml')]),
      veer(['simulate', scenario, '--runs', '1', '--policy', at('list.yaml')]),
    ]);
    expect(fifo.code).toBe(2);
    expect(fifo.stderr).toBe(`error: --policy ${at('fifo.yaml')}: not a regular file (a named pipe)\n`);
    expect(list.code).toBe(2);
    expect(list.stderr).toBe(
      `error: --policy ${at('list.yaml')}: expected a mapping of rollout keys (steps: [10, 50, 100], …), got a list\n`,
    );
  });
});
