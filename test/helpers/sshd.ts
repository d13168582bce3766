// A private OpenSSH server per test, on 127.0.0.1 and a port it picks, with its own config, host key,
// client key and authorized_keys in a temp dir: the far end of a `ssh://` Docker endpoint. Its
// stderr is read for "Accepted publickey" lines (logins), and a ForceCommand wrapper records every
// command a session runs (one per Docker API call: `docker system dial-stdio`) before running it.
// stop() ends the server *and* the connections it accepted (sshd leaves them running otherwise), so
// it looks to a client like the host went away. Readiness is the server's SSH banner, never a sleep.
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe } from 'vitest';
import { dockerStatus } from './docker.js';
import { freePort, hasExited, spawnTracked, stopChild, waitFor } from './process.js';
import { probeLine } from './line-probe.js';

export const SSHD = '/usr/sbin/sshd';
const READY_TIMEOUT_MS = 10_000;
const run = promisify(execFile);

export interface SshdHandle {
  readonly port: number;
  /** The temp dir holding the config, keys and logs (removed by close()). */
  readonly dir: string;
  /** Private key authorized for root (its .pub is in authorized_keys). */
  readonly clientKey: string;
  /** Pid of the current server; -1 while stopped. */
  readonly pid: number;
  /** "Accepted publickey" lines since startSshd(), over every start. */
  readonly logins: number;
  /** Every command a session ran since startSshd(), in order. */
  commands(): string[];
  /** `[127.0.0.1]:PORT <type> <base64>` for the current host key; hashed as ssh-keygen -H writes it. */
  knownHostsLine(opts?: { hashed?: boolean }): string;
  /** The current host key's fingerprint as `ssh-keygen -lf` prints it: `SHA256:…`. */
  fingerprint(): string;
  /** Server's stderr so far (the last 20 000 characters), for failure messages. */
  log(): string;
  /** Stops the server and kills the connections it accepted; resolves once all are gone. */
  stop(): Promise<void>;
  /** Starts the server again (same port, same host key) if it is stopped. */
  start(): Promise<void>;
  /** stop(), a new host key, start(). */
  restartWithNewHostKey(): Promise<void>;
  /** stop() and remove the temp dir. */
  close(): Promise<void>;
}

/** Why an sshd cannot run here, or null when it can. */
export function sshdMissing(): string | null {
  try {
    accessSync(SSHD, constants.X_OK);
  } catch {
    return `${SSHD} is not installed (apt-get install openssh-server)`;
  }
  // The endpoint logs in as root; only root can run an sshd that lets it.
  if (process.getuid?.() !== 0) return 'not running as root (the ssh tests log in as root)';
  return null;
}

/**
 * `describe` when an sshd can run and a Docker engine answers, else `describe.skip` with a warning -
 * except under VEER_REQUIRE_DOCKER=1 (scripts/test.sh), where either missing must fail the run.
 */
export async function sshSuite(file: string): Promise<typeof describe | typeof describe.skip> {
  const engine = await dockerStatus();
  const reason = sshdMissing() ?? (engine.ok ? null : engine.reason);
  const required = process.env.VEER_REQUIRE_DOCKER === '1';
  if (reason !== null) console.warn(`[${file}] ${required ? 'FAILING' : 'skipping'}: ${reason}`);
  return reason === null || required ? describe : describe.skip;
}

async function keygen(file: string, comment: string): Promise<void> {
  rmSync(file, { force: true });
  rmSync(`${file}.pub`, { force: true });
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { timeout: 10_000 });
}

async function fingerprintOf(pub: string): Promise<string> {
  // "256 SHA256:abc… comment (ED25519)"
  const { stdout } = await run('ssh-keygen', ['-lf', pub], { timeout: 10_000 });
  const fp = stdout.split(/\s+/).find((f) => f.startsWith('SHA256:'));
  if (fp === undefined) throw new Error(`ssh-keygen -lf ${pub} printed no SHA256 fingerprint: ${stdout}`);
  return fp;
}

function writeConfig(dir: string, port: number): string {
  const wrapper = path.join(dir, 'record-command.sh');
  const record = path.join(dir, 'commands.log');
  writeFileSync(
    wrapper,
    `#!/bin/sh\nprintf '%s\\n' "$SSH_ORIGINAL_COMMAND" >> '${record}'\nexec /bin/sh -c "$SSH_ORIGINAL_COMMAND"\n`,
    { mode: 0o755 },
  );
  const file = path.join(dir, 'sshd_config');
  const lines = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${dir}/host_key`,
    `AuthorizedKeysFile ${dir}/authorized_keys`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    `PidFile ${dir}/sshd.pid`,
    'LogLevel VERBOSE',
    // bash runs ~/.bashrc for a command sshd starts unless it is a nested shell (SHLVL set): keeps
    // root's rc files (slow, and not this test's business) out of every Docker call's channel.
    'SetEnv SHLVL=1',
    'PrintMotd no',
    `ForceCommand ${wrapper}`,
  ];
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** The SSH identification line ("SSH-2.0-…") arrives on 127.0.0.1:port within timeoutMs. */
export function sshBanner(port: number, timeoutMs = 1_000): Promise<boolean> {
  return probeLine(port, { expect: 'SSH-2.0-', timeoutMs });
}

/** Pids below `root` in the process tree (children, grandchildren, …), from /proc. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) state ppid …"; comm may hold spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const c of children.get(queue.shift() as number) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** Gone or a zombie (nobody may reap orphans here, so a zombie counts as gone). */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

const signal = (pid: number, sig: NodeJS.Signals): void => {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
};

/**
 * Stops the listener and every connection it accepted. The listener is frozen first (no new
 * connection can fork), then the whole tree below it, until no new process appears; then all die.
 */
async function stopServer(child: ChildProcess): Promise<void> {
  const root = child.pid;
  if (root === undefined || hasExited(child)) return;
  const frozen = killConnections(root);
  // Killed while frozen, never continued: a listener that went on would accept a login already waiting in its
  // backlog (the client reconnects as soon as its connection is killed) and fork a connection no sweep finds, and
  // the server would still answer after stop(). Once seen in CI: a prune listed the engine of a stopped sshd.
  signal(root, 'SIGKILL');
  await stopChild(child, 3_000);
  await waitFor(() => [...frozen].every(gone), {
    timeoutMs: 5_000,
    what: `sshd's connections below pid ${root} to die`,
  });
}

/** Freezes the listener and the tree below it (until no new process appears), then kills the tree. */
function killConnections(root: number): Set<number> {
  signal(root, 'SIGSTOP');
  const frozen = new Set<number>();
  for (let round = 0; round < 20; round++) {
    const fresh = descendants(root).filter((p) => !frozen.has(p));
    if (fresh.length === 0) break;
    for (const p of fresh) {
      signal(p, 'SIGSTOP');
      frozen.add(p);
    }
  }
  for (const p of frozen) signal(p, 'SIGKILL');
  return frozen;
}

// A test worker that exits without its afterAll (a timeout, a crash) must not leave servers behind.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) {
    if (child.pid === undefined || hasExited(child)) continue;
    killConnections(child.pid);
    signal(child.pid, 'SIGKILL');
  }
});

/** Starts an sshd on a free loopback port; retries a few ports if one was taken meanwhile. */
export async function startSshd(): Promise<SshdHandle> {
  const missing = sshdMissing();
  if (missing !== null) throw new Error(`cannot start sshd: ${missing}`);
  // The privilege separation directory sshd insists on.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(path.join(tmpdir(), 'veer-sshd-'));
  try {
    const clientKey = path.join(dir, 'id_ed25519');
    await keygen(clientKey, 'veer-test-client');
    await keygen(path.join(dir, 'host_key'), 'veer-test-host');
    writeFileSync(path.join(dir, 'authorized_keys'), readFileSync(`${clientKey}.pub`), { mode: 0o600 });
    const server = new Server(dir, clientKey);
    await server.firstStart();
    return server.handle();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

class Server {
  port = 0;
  child: ChildProcess | null = null;
  logins = 0;
  output = '';
  fp = '';

  constructor(
    readonly dir: string,
    readonly clientKey: string,
  ) {}

  async firstStart(): Promise<void> {
    this.fp = await fingerprintOf(path.join(this.dir, 'host_key.pub'));
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      this.port = await freePort();
      try {
        await this.launch();
        return;
      } catch (e) {
        lastError = e;
      }
    }
    throw lastError instanceof Error ? lastError : new Error('could not start sshd');
  }

  async launch(): Promise<void> {
    const config = writeConfig(this.dir, this.port);
    const child = spawnTracked(SSHD, ['-D', '-e', '-f', config]);
    this.child = child;
    running.add(child);
    child.once('exit', () => running.delete(child));
    let partial = '';
    child.stderr?.on('data', (d: Buffer) => {
      const text = partial + d.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.includes('Accepted publickey')) this.logins++;
      this.output = (this.output + d.toString('utf8')).slice(-20_000);
    });
    try {
      await waitFor(
        async () => {
          if (hasExited(child)) throw new Error(`sshd exited (${child.exitCode ?? child.signalCode}): ${this.output}`);
          return sshBanner(this.port, 500);
        },
        { timeoutMs: READY_TIMEOUT_MS, intervalMs: 50, what: `sshd banner on port ${this.port}` },
      );
    } catch (e) {
      await stopServer(child);
      this.child = null;
      throw e;
    }
  }

  async stop(): Promise<void> {
    if (this.child === null) return;
    await stopServer(this.child);
    this.child = null;
  }

  knownHostsLine(hashed: boolean): string {
    const [type, key] = readFileSync(path.join(this.dir, 'host_key.pub'), 'utf8').trim().split(/\s+/);
    const host = `[127.0.0.1]:${this.port}`;
    if (!hashed) return `${host} ${type} ${key}`;
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update(host).digest('base64');
    return `|1|${salt.toString('base64')}|${hash} ${type} ${key}`;
  }

  commands(): string[] {
    const file = path.join(this.dir, 'commands.log');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').split('\n').slice(0, -1);
  }

  handle(): SshdHandle {
    const s = this;
    return {
      port: s.port,
      dir: s.dir,
      clientKey: s.clientKey,
      get pid() {
        return s.child?.pid ?? -1;
      },
      get logins() {
        return s.logins;
      },
      commands: () => s.commands(),
      knownHostsLine: (opts) => s.knownHostsLine(opts?.hashed ?? false),
      fingerprint: () => s.fp,
      log: () => s.output,
      stop: () => s.stop(),
      start: async () => {
        if (s.child === null) await s.launch();
      },
      restartWithNewHostKey: async () => {
        await s.stop();
        await keygen(path.join(s.dir, 'host_key'), 'veer-test-host');
        s.fp = await fingerprintOf(path.join(s.dir, 'host_key.pub'));
        await s.launch();
      },
      close: async () => {
        await s.stop();
        rmSync(s.dir, { recursive: true, force: true });
      },
    };
  }
}
