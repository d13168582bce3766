// How the tests start veer's CLI as a child process: the built dist/cli.js, which the run's global setup
// (built-cli.ts) compiles first when a source is newer. Through tsx every start resolved and transformed
// veer's ~300 modules again: ~1 s of CPU and 0.6 s more per start, and the suite starts hundreds of
// children (the two CI passes spent minutes on it). VEER_TEST_CLI=src starts them from source through tsx.
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;

export const BUILT_CLI = join(ROOT, 'dist/cli.js');
export const SOURCE_CLI: readonly string[] = ['--import', 'tsx', join(ROOT, 'src/cli.ts')];

/** Node's arguments before the CLI's own: the built CLI, or the source (VEER_TEST_CLI=src). */
export const CLI_ENTRY: readonly string[] = process.env.VEER_TEST_CLI === 'src' ? SOURCE_CLI : [BUILT_CLI];
