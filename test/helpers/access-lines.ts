// Access log files as tests read them: the JSON lines written so far, and a bounded wait for a count.
import { existsSync, readFileSync } from 'node:fs';
import { waitFor } from './process.js';

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
