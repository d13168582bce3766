// `npm run demo`, as a newcomer runs it (`--once`): the walkthrough on stdout, promoted then rolled back,
// and nothing else there (the access log goes to its own file).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

it('walks through a shift, a promotion and a rollback, with only the walkthrough on stdout', async () => {
  const cwd = await mkdtemp(join(tmpdir(), 'veer-demo-'));
  dirs.push(cwd);
  const tsx = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/esm/index.mjs')).href;
  const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    execFile(
      process.execPath,
      ['--import', tsx, join(ROOT, 'src/demo.ts'), '--once'],
      { cwd, timeout: 120_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    ),
  );
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/→ succeeded/);
  expect(run.stdout).toMatch(/→ rolled-back \(/);
  const lines = run.stdout.split('\n');
  expect(lines.filter((l) => l.includes('"kind":"access"'))).toEqual([]);
  expect(lines.length).toBeLessThan(200);
  const log = await readFile(join(cwd, '.veer/demo-access.log'), 'utf8');
  expect(log.split('\n').filter((l) => l.includes('"kind":"access"')).length).toBeGreaterThan(100);
}, 150_000);
