// `veer validate` (the CLI as a child process) checks rollout.targeting as `veer start` does: a good
// file passes, and each broken rule is listed by path, without a stack trace.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasStackTrace } from '../helpers/veer.js';
import { CLI_ENTRY } from '../helpers/cli-entry.js';

const ROOT = new URL('../../', import.meta.url).pathname;
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'veer-targeting-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function validate(yaml: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = join(tmp, `c${Date.now()}.yaml`);
  await writeFile(file, yaml);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...CLI_ENTRY, 'validate', '-c', file],
      { cwd: ROOT, timeout: 20_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      },
    );
  });
}

const config = (rules: string[]): string =>
  ['services:', '  - name: web', '    rollout:', '      targeting:', ...rules.map((r) => `        - ${r}`), ''].join(
    '\n',
  );

describe('veer validate with rollout.targeting', () => {
  it('accepts header, cookie and query rules', async () => {
    const r = await validate(
      config([
        '{ header: { name: X-Internal-User, value: "1" } }',
        '{ cookie: { name: beta, value: "yes" } }',
        '{ query: { name: canary, regex: "^(1|true)$" } }',
      ]),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('ok: 1 services');
  });

  it('lists each broken rule by path and exits 2', async () => {
    const r = await validate(
      config([
        '{ header: { name: "" } }',
        '{ query: { name: canary, regex: "(" } }',
        '{ cookie: { name: a }, query: { name: b } }',
      ]),
    );
    expect(r.code).toBe(2);
    const P = 'services[0].rollout.targeting';
    expect(r.stderr).toContain(`${P}[0].header.name: must not be empty`);
    expect(r.stderr).toContain(`${P}[1].query.regex: is not a valid regular expression (Unterminated group)`);
    expect(r.stderr).toContain(`${P}[2]: expected exactly one of "header", "cookie" or "query", not several`);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });
});
