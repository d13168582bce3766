// Access log files as tests read them: the JSON lines written so far, and a bounded wait for a count.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './process.js';
import type { Harness } from './veer.js';

export type AccessLine = Record<string, unknown>;

export function accessLines(file: string): AccessLine[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AccessLine);
}

/** Waits (bounded) until `file` holds at least `n` lines, and returns them. */
export async function waitForLines(file: string, n: number, timeoutMs = 10_000): Promise<AccessLine[]> {
  return waitFor(() => (accessLines(file).length >= n ? accessLines(file) : null), {
    what: `${n} access lines in ${file} (have ${accessLines(file).length})`,
    timeoutMs,
  });
}

/** A file path in a new temporary directory, removed after the test. */
export function accessLogFile(h: Harness): string {
  const dir = mkdtempSync(join(tmpdir(), 'veer-access-'));
  h.defer(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'access.log');
}
