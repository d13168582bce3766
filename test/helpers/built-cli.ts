// vitest's global setup: the children the tests start run dist/cli.js (cli-entry.ts says why), so dist is
// compiled from src before any test file runs, when a source file is newer than it (CI builds it just before;
// a local run after an edit rebuilds it here, so no test starts yesterday's code).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BUILT_CLI } from './cli-entry.js';

const ROOT = new URL('../../', import.meta.url).pathname;

/** The newest modification time (ms) of the files under `dir`. */
function newest(dir: string): number {
  let max = 0;
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    max = Math.max(max, statSync(join(dir, name)).mtimeMs);
  }
  return max;
}

export function setup(): void {
  if (process.env.VEER_TEST_CLI === 'src') return;
  const sources = Math.max(newest(join(ROOT, 'src')), statSync(join(ROOT, 'tsconfig.json')).mtimeMs);
  if (existsSync(BUILT_CLI) && statSync(BUILT_CLI).mtimeMs >= sources) return;
  try {
    // tsc writes every output even when it finds type errors (it exits 2 then): the tests run on what it wrote,
    // as they did through tsx; `npm run lint` reports the errors.
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
      cwd: ROOT,
      stdio: 'inherit',
      timeout: 180_000,
    });
  } catch (e) {
    if (!existsSync(BUILT_CLI) || statSync(BUILT_CLI).mtimeMs < sources) {
      throw new Error(`compiling src to dist for the tests' children failed: ${(e as Error).message}`);
    }
  }
}
