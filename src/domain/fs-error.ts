// What a failed file read means to an operator, in a few words (no errno names, no stack, no library text).

/** `e`: what a file operation threw. */
export function describeFsError(e: unknown): string {
  return fsProblem((e as NodeJS.ErrnoException | undefined)?.code);
}

export function fsProblem(code: string | undefined): string {
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    case 'ELOOP':
      return 'too many symbolic links (a link that points back to itself?)';
    case 'ENAMETOOLONG':
      return 'the path is too long';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'ENXIO':
      return 'not a regular file (a device or socket with nothing behind it)';
    case 'EMFILE':
    case 'ENFILE':
      return 'too many files open';
    default:
      return code === undefined ? 'it cannot be read' : `it cannot be read (${code})`;
  }
}
