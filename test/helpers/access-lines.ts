// Access log files as tests read them: the JSON lines written so far, and a bounded wait for a count.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './process.js';
import { http, type Harness } from './veer.js';

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

/** The request ids of the lines in `file`, in the order written. */
export const requestIds = (file: string): unknown[] => accessLines(file).map((l) => l.requestId);

/** `n` GETs to `url`/n0… one after another, each answered 200; their request ids, in order. */
export async function sendRequests(url: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await http(`${url}/n${i}`);
    if (r.status !== 200) throw new Error(`GET ${url}/n${i} answered ${r.status}, expected 200`);
    ids.push(r.headers['x-request-id'] as string);
  }
  return ids;
}
