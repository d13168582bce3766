// Files the operator names, as the built CLI (dist/cli.js, `npm run build` first) reads them:
// `validate -c`, `start -c` and `simulate --policy` take files and pipes up to 4 MiB, a pipe for at most
// 10 s, and say in plain words why another path cannot be read. A FIFO used to hang forever, /dev/zero ran
// out of memory ("Invalid string length"), and link loops printed `ELOOP: too many symbolic links…`.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_CLI, runVeer, type CliRun } from '../helpers/cli.js';

let tmp: string;
const veer = (args: string[]): Promise<CliRun> => runVeer(args, { entry: 'dist', timeoutMs: 15_000 });

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'veer-cli-files-'));
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
    ['loop-a', 'too many symbolic links (a link that points back to itself?)'],
    ['big.yaml', 'it is larger than 4 MiB, the most read'],
    ['.', 'it is a directory'],
    ['missing.yaml', 'no such file'],
  ])('%s: exit 2, %s', async (name, why) => {
    const [validate, start] = await Promise.all([veer(['validate', '-c', at(name)]), veer(['start', '-c', at(name)])]);
    for (const r of [validate, start]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`cannot read config file ${at(name)}: ${why}`);
      // An errno code as a word (EISDIR:), not the tail of the temp dir's random name (…-N3ETUV:).
      expect(r.stderr).not.toMatch(/\bE[A-Z]{3,}:|RangeError|Invalid string length/);
    }
  });

  it('/dev/zero and a too long name are refused in plain words', async () => {
    const long = join(tmp, 'x'.repeat(5000));
    const [zero, name] = await Promise.all([veer(['validate', '-c', '/dev/zero']), veer(['validate', '-c', long])]);
    expect([zero.code, name.code]).toEqual([2, 2]);
    expect(zero.stderr).toContain('cannot read config file /dev/zero: it is larger than 4 MiB, the most read');
    expect(name.stderr).toContain(': the path is too long');
  });

  it('reads a config piped in (-c /dev/stdin), and gives up on a pipe that stays silent for 10 s', async () => {
    const piped = await validateFromStdin("printf 'services: []\\n'");
    expect([piped.code, piped.stdout.trim()]).toEqual([0, 'ok: 0 services']);
    // The writer keeps the pipe open and sends nothing: bounded, and said. It outlasts veer's 10 s by 8 s, so a
    // start slowed by a loaded machine still meets the silence (with 11 s the pipe once ended first, under CI).
    const silent = await validateFromStdin('sleep 18');
    expect(silent.code).toBe(2);
    expect(silent.stderr).toContain('cannot read config file /dev/stdin: nothing more came from it within 10s');
  }, 45_000);

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
  it('says what a YAML list is', async () => {
    const scenario = at('scenario.mjs');
    const list = await veer(['simulate', scenario, '--runs', '1', '--policy', at('list.yaml')]);
    expect(list.code).toBe(2);
    expect(list.stderr).toBe(
      `error: --policy ${at('list.yaml')}: expected a mapping of rollout keys (steps: [10, 50, 100], …), got a list\n`,
    );
  });
});

/** `<writer> | veer validate -c /dev/stdin` through a shell, so stdin is a real pipe; bounded at 20 s. */
function validateFromStdin(writer: string): Promise<CliRun> {
  const started = Date.now();
  const cmd = `${writer} | "${process.execPath}" "${BUILT_CLI}" validate -c /dev/stdin`;
  return new Promise((resolve) => {
    execFile('sh', ['-c', cmd], { timeout: 30_000, killSignal: 'SIGKILL' }, (error, stdout, stderr) =>
      resolve({
        code: error ? (typeof error.code === 'number' ? error.code : null) : 0,
        stdout,
        stderr,
        ms: Date.now() - started,
      }),
    );
  });
}
