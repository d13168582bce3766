// The page files a config names (services[].errorPages, services[].maintenance.page) must be
// readable: `veer validate`, `veer start` and a reload say so by path instead of serving a
// built-in page by surprise. A page is held in memory by every process and sent whole with each
// answer, so it is bounded (MAX_PAGE_BYTES); a pipe or device there would block the reader.
import type { Problem, Result } from '../domain/errors.js';
import { readRegularFileSync } from './file-text.js';

/** Far above any error page (a page with inline images is a few hundred KiB). */
export const MAX_PAGE_BYTES = 1024 * 1024;

/** The page's bytes, or why it cannot be one. */
export function readPageFile(path: string): Result<Buffer, string> {
  return readRegularFileSync(path, MAX_PAGE_BYTES);
}

const record = (v: unknown): Record<string, unknown> | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

function unreadable(path: string): string | null {
  const r = readPageFile(path);
  return r.ok ? null : r.error;
}

export function pageFileProblems(tree: unknown): Problem[] {
  const services = record(tree)?.services;
  if (!Array.isArray(services)) return [];
  const problems: Problem[] = [];
  const check = (path: string, v: unknown): void => {
    if (typeof v !== 'string' || v === '') return;
    const why = unreadable(v);
    if (why !== null) problems.push({ path, message: `${v}: ${why}` });
  };
  services.forEach((s, i) => {
    const pages = record(record(s)?.errorPages);
    for (const status of ['502', '503', '504']) check(`services[${i}].errorPages.${status}`, pages?.[status]);
    check(`services[${i}].maintenance.page`, record(record(s)?.maintenance)?.page);
  });
  return problems;
}
