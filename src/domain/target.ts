// An upstream address. `id` ("host:port") is the identity used across routing-table swaps so a
// target's runtime state (connections, outstanding count, ejection) survives a weight change.

export interface TargetAddress {
  readonly host: string;
  readonly port: number;
  readonly id: string;
}

const HOST_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;

export function parseTarget(s: unknown): { ok: true; target: TargetAddress } | { ok: false; message: string } {
  if (typeof s !== 'string') return { ok: false, message: 'expected a "host:port" string' };
  const m = HOST_PORT.exec(s.trim());
  if (!m) return { ok: false, message: `expected "host:port", got "${s}"` };
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return { ok: false, message: `port must be 1–65535, got ${port}` };
  const id = m[1] ? `[${host}]:${port}` : `${host}:${port}`;
  return { ok: true, target: { host, port, id } };
}
