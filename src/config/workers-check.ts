// `workers` beyond one field: what several data-plane processes cannot do yet is refused here, so
// `veer validate` says so before `veer start` would run with it.
import type { Problem } from '../domain/errors.js';

const record = (v: unknown): Record<string, unknown> | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

export function workersProblems(tree: unknown): Problem[] {
  const root = record(tree);
  const workers = root?.workers;
  // ACME's challenge answers and new certificates live in the primary: `auto` runs one process then.
  if (typeof workers === 'number' && workers > 1 && record(record(root?.tls)?.acme) !== null)
    return [
      {
        path: 'workers',
        message:
          'tls.acme needs veer in one process: set `workers: 1` (or `auto`, which runs one process with tls.acme)',
      },
    ];
  return [];
}
