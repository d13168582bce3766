// The page files a config names (services[].errorPages, services[].maintenance.page) must be
// readable: `veer validate`, `veer start` and a reload say so by path instead of serving a
// built-in page by surprise.
import { accessSync, constants, statSync } from 'node:fs';
import type { Problem } from '../domain/errors.js';

const record = (v: unknown): Record<string, unknown> | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

function unreadable(path: string): string | null {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isFile() ? null : 'is not a file';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : `cannot be read (${code})`;
  }
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
