// The `veer` executable turns Node's compile cache on where Node has one (22.1 and later): a run leaves
// compiled code in $TMPDIR/node-compile-cache, which Node alone would not write (it writes there only when
// NODE_COMPILE_CACHE is set, which this test leaves unset). On Node 20 the directory is never made.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import nodeModule from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILT_CLI } from '../helpers/cli-entry.js';

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Every file under `dir`, or null when it does not exist. */
async function filesUnder(dir: string): Promise<string[] | null> {
  try {
    return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch {
    return null;
  }
}

describe('the compile cache', () => {
  it('is written by `veer --version` where Node has one, and never where it has not', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'veer-compile-cache-'));
    dirs.push(tmp);
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('VEER_') && !/^NODE_(DISABLE_)?COMPILE_CACHE/.test(k)),
    );
    const { stdout } = await run(process.execPath, [BUILT_CLI, '--version'], {
      env: { ...env, TMPDIR: tmp },
      timeout: 20_000,
    });
    expect(stdout).toMatch(/\d+\.\d+\.\d+/);
    const files = await filesUnder(join(tmp, 'node-compile-cache'));
    if (typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === 'function')
      expect(files?.length ?? 0, `Node ${process.version}`).toBeGreaterThan(5);
    else expect(files, `Node ${process.version}`).toBeNull();
  });
});
