// Sizes in config are strings like "512kb", "10mb", "1gb" (binary multiples, as nginx and Docker
// read them) or a bare number of bytes.

const UNIT_BYTES: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
};
const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb?|mb?|gb?)$/i;

export function parseSize(v: unknown): { ok: true; bytes: number } | { ok: false; message: string } {
  if (typeof v === 'number') {
    return Number.isSafeInteger(v) && v >= 0
      ? { ok: true, bytes: v }
      : { ok: false, message: 'expected a whole number of bytes ≥ 0' };
  }
  if (typeof v !== 'string')
    return { ok: false, message: 'expected a size like "512kb", "10mb", "1gb" or a number of bytes' };
  const m = SIZE.exec(v.trim());
  if (!m) return { ok: false, message: `expected a size like "512kb", "10mb", "1gb", got "${v}"` };
  return { ok: true, bytes: Math.floor(Number(m[1]) * (UNIT_BYTES[(m[2] as string).toLowerCase()] as number)) };
}

export function formatSize(bytes: number): string {
  for (const [unit, n] of [
    ['gb', 1024 ** 3],
    ['mb', 1024 ** 2],
    ['kb', 1024],
  ] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  }
  return `${bytes}b`;
}
