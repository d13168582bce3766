// A file access log's directory must exist: veer creates the file (and creates it again after a
// rotation), never directories, and a missing one would drop every line. Checked at start and by
// `veer validate`, like the TLS files.
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Problem } from '../domain/errors.js';

const STREAMS = new Set(['stdout', 'stderr']);

export function accessLogProblems(tree: unknown): Problem[] {
  const section = (tree as { accessLog?: unknown } | null)?.accessLog;
  if (typeof section !== 'object' || section === null) return [];
  const { enabled, output } = section as { enabled?: unknown; output?: unknown };
  if (enabled === false || typeof output !== 'string' || output === '' || STREAMS.has(output)) return [];
  const file = resolve(output);
  if (isDirectory(file)) return [{ path: 'accessLog.output', message: `${file} is a directory, not a file` }];
  const dir = dirname(file);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    isDir = false;
  }
  return isDir ? [] : [{ path: 'accessLog.output', message: `the directory ${dir} does not exist` }];
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
