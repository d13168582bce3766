// A port for a server a test starts later (redis-server, pebble, sshd, a second listener). Between the
// pick and the bind anything else may take a port the OS handed out with bind(0): another test's
// server, or any outgoing connection's local port, since connect() draws from the same ephemeral range.
// So the pick is made below that range, where the OS never hands out a port by itself, and claimed with
// a file that only one caller can create, so two tests (even in two suites at once) never share it.
// A process that can bind port 0 itself and report what it got is better still (veer-started.ts).
import { mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLAIMS = join(tmpdir(), 'veer-test-ports');
/** A claim older than this is a finished run's: the port may be picked again. */
const CLAIM_TTL_MS = 30 * 60_000;
/** The lowest port picked: clear of the well-known and registered ports servers commonly use. */
const FLOOR = 20_000;
const ATTEMPTS = 200;
/** Whose claim it is: the vitest run (a test file's fork is its child), which releases its own at the end. */
const OWNER = String(process.ppid);

/** A port free on 127.0.0.1 now, outside the OS's ephemeral range and claimed for this caller. */
export async function freePort(): Promise<number> {
  const ceiling = ephemeralLow() - 1;
  if (ceiling - FLOOR >= 1_000) {
    mkdirSync(CLAIMS, { recursive: true });
    for (let i = 0; i < ATTEMPTS; i++) {
      const port = FLOOR + Math.floor(Math.random() * (ceiling - FLOOR + 1));
      if (claim(port) && (await bindable(port))) return port;
    }
  }
  // An unusual range (or every pick taken): the OS's pick, with the reuse race named above.
  return osPort();
}

/** The low end of net.ipv4.ip_local_port_range (Linux's default when it cannot be read). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/** True if this caller now holds the claim on `port` (a fresh file, or a stale one replaced). */
function claim(port: number): boolean {
  const file = join(CLAIMS, String(port));
  try {
    writeFileSync(file, OWNER, { flag: 'wx' });
    return true;
  } catch {
    try {
      if (Date.now() - statSync(file).mtimeMs < CLAIM_TTL_MS) return false;
      unlinkSync(file);
      writeFileSync(file, OWNER, { flag: 'wx' });
      return true;
    } catch {
      return false;
    }
  }
}

/** Removes the claims of the run `owner` (a pid): its servers are gone once it ends. */
export function releaseClaims(owner: string): number {
  let released = 0;
  let files: string[] = [];
  try {
    files = readdirSync(CLAIMS);
  } catch {
    return 0; // no claims made
  }
  for (const name of files) {
    const file = join(CLAIMS, name);
    try {
      if (readFileSync(file, 'utf8') !== owner) continue;
      unlinkSync(file);
      released++;
    } catch {
      // Taken over or removed meanwhile: not this run's to release.
    }
  }
  return released;
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function osPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read the bound port'))));
    });
  });
}
