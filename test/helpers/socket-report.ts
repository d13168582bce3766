// For a failed test's report: the kernel's view of the TCP sockets on some ports, the ones with bytes
// queued. It tells where a request that was never answered sits: unread by the server (its socket's
// Recv-Q, or a listener's accept queue), or answered and unread by the proxy (the proxy's Recv-Q).
import { execFile } from 'node:child_process';

/** `ss` lines (listeners and connections) on `ports` with a non-zero Recv-Q or Send-Q, at most `max`. */
export async function queuedSockets(ports: readonly number[], max = 40): Promise<string> {
  if (ports.length === 0) return '(no ports)';
  const out = await new Promise<string>((resolve) =>
    execFile('ss', ['-tanpH'], { timeout: 5_000, maxBuffer: 16 << 20 }, (err, stdout) =>
      resolve(err === null ? stdout : `(ss failed: ${err.message})`),
    ),
  );
  const wanted = new Set(ports.map(String));
  const portOf = (addr: string | undefined): string => addr?.slice(addr.lastIndexOf(':') + 1) ?? '';
  const lines = out.split('\n').filter((line) => {
    // State Recv-Q Send-Q Local Peer [Process]
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || (f[1] === '0' && f[2] === '0')) return false;
    return wanted.has(portOf(f[3])) || wanted.has(portOf(f[4]));
  });
  if (lines.length === 0) return `(no bytes or connections queued on ports ${ports.join(', ')})`;
  const shown = lines.slice(0, max).map((l) => l.trim().replace(/\s+/g, ' '));
  return [...shown, ...(lines.length > max ? [`(${lines.length - max} more)`] : [])].join('\n');
}
