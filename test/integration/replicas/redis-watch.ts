// Watching who writes what in a test's own redis-server: a raw MONITOR connection, and the mapping
// from a client's address to the process that owns the socket (Linux /proc), so a test can say
// "this write came from that replica" without trusting anything the replica reports about itself.
import { readFile, readdir, readlink } from 'node:fs/promises';
import net from 'node:net';

export interface MonitorLine {
  /** Server time, ms since the epoch (the same clock as Date.now() on this machine). */
  at: number;
  /** "127.0.0.1:<port>" of the client, or "lua" for a command a script ran. */
  client: string;
  args: string[];
}

export interface Monitor {
  readonly lines: MonitorLine[];
  stop(): void;
}

const LINE = /^(\d+\.\d+) \[\d+ ([^\]]+)\] (.*)$/;
const ARG = /"((?:[^"\\]|\\.)*)"/g;

function parseLine(text: string): MonitorLine | null {
  const m = LINE.exec(text);
  if (!m) return null;
  const args = [...(m[3] ?? '').matchAll(ARG)].map((a) => (a[1] ?? '').replace(/\\(.)/g, '$1'));
  return { at: Number(m[1]) * 1000, client: m[2] ?? '', args };
}

/** MONITOR on 127.0.0.1:port; resolves once Redis has confirmed it (bounded). Lines are capped. */
export function monitor(port: number, maxLines = 200_000): Promise<Monitor> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const lines: MonitorLine[] = [];
    let buf = '';
    let confirmed = false;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('MONITOR was not confirmed within 2 s'));
    }, 2_000);
    sock.setEncoding('utf8');
    sock.on('error', (e) => {
      clearTimeout(timer);
      if (!confirmed) reject(e);
    });
    sock.on('data', (d: string) => {
      buf += d;
      let nl = buf.indexOf('\r\n');
      while (nl !== -1) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (!confirmed && text === '+OK') {
          confirmed = true;
          clearTimeout(timer);
          resolve({ lines, stop: () => sock.destroy() });
        } else if (text.startsWith('+')) {
          const line = parseLine(text.slice(1));
          if (line && lines.length < maxLines) lines.push(line);
        }
        nl = buf.indexOf('\r\n');
      }
    });
    sock.on('connect', () => sock.write('MONITOR\r\n'));
  });
}

export interface Write {
  at: number;
  /** The client whose script (or command) did the write. */
  client: string;
  key: string;
}

/** HSETs, attributed to the client whose EVAL/EVALSHA ran them (MONITOR logs the call, then its commands). */
export function hashWrites(lines: readonly MonitorLine[]): Write[] {
  const out: Write[] = [];
  let caller: MonitorLine | null = null;
  for (const l of lines) {
    if (l.client !== 'lua') caller = l;
    const cmd = (l.args[0] ?? '').toUpperCase();
    if (cmd !== 'HSET' || caller === null) continue;
    out.push({ at: caller.at, client: caller.client, key: l.args[1] ?? '' });
  }
  return out;
}

function parseHexPort(addr: string): number {
  return parseInt(addr.slice(addr.lastIndexOf(':') + 1), 16);
}

/** Local ports of the TCP connections `pid` holds to 127.0.0.1:redisPort (IPv4 and IPv6 tables). */
export async function clientPortsOf(pid: number, redisPort: number): Promise<Set<number>> {
  const byInode = new Map<string, number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const row of text.split('\n').slice(1)) {
      const f = row.trim().split(/\s+/);
      const [local, remote, inode] = [f[1], f[2], f[9]];
      if (!local || !remote || !inode) continue;
      if (parseHexPort(remote) === redisPort) byInode.set(inode, parseHexPort(local));
    }
  }
  const ports = new Set<number>();
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  for (const fd of fds) {
    const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(link);
    const port = m ? byInode.get(m[1] ?? '') : undefined;
    if (port !== undefined) ports.add(port);
  }
  return ports;
}

export const portOf = (client: string): number => Number(client.slice(client.lastIndexOf(':') + 1));
