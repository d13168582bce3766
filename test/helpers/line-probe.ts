// Is a loopback server up and speaking its protocol? Connects, optionally writes a greeting, and
// checks the first line the server answers, within a bound (Redis PING, an SSH banner).
import net from 'node:net';

export interface LineProbe {
  /** Written once connected (e.g. "PING\r\n"); nothing when the server speaks first. */
  send?: string;
  /** The first line must start with this. */
  expect: string;
  timeoutMs: number;
}

export function probeLine(port: number, p: LineProbe): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(p.timeoutMs, () => done(false));
    sock.once('error', () => done(false));
    sock.once('close', () => done(false));
    if (p.send !== undefined) sock.once('connect', () => sock.write(p.send as string));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\n')) done(buf.startsWith(p.expect));
    });
  });
}
