// `veer start -c <file>` as a child process, with its config file in a temporary directory that a
// test rewrites (then SIGHUP, `veer reload` or the file watcher). veer listens on port 0 and the test
// reads the ports from its "veer started" line (veer-started.ts says why). Cleanup (child by pid,
// directory) is registered.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { spawnTracked, stopChild, waitFor } from './process.js';
import { portOf, veerStarted } from './veer-started.js';
import { http, type Harness } from './veer.js';
import { CLI_ENTRY } from './cli-entry.js';

const ROOT = new URL('../../', import.meta.url).pathname;

export interface VeerChild {
  child: ChildProcess;
  /** The config file. */
  file: string;
  dataPort: number;
  adminPort: number;
  dataUrl: string;
  adminUrl: string;
  /** The last 8 kB of its stdout and stderr. */
  output(): string;
  /** Writes the config file (`listen` and `admin.listen` on port 0 unless `config` says otherwise). */
  write(config: Record<string, unknown>): Promise<void>;
}

/** `config`: everything but `listen` and `admin.listen`, which are filled in (loopback, port 0). */
export async function startVeerChild(
  h: Harness,
  config: Record<string, unknown>,
  /** How long veer may take to answer /readyz (default 20 s; several workers start several processes). */
  readyTimeoutMs = 20_000,
  /** Node flags before the CLI's (e.g. a preload: `--import`, a file). */
  nodeArgs: string[] = [],
  /** A command that runs node (e.g. `taskset -c 0`); none: node itself. */
  wrapper: string[] = [],
): Promise<VeerChild> {
  const dir = await mkdtemp(join(tmpdir(), 'veer-child-'));
  h.defer(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'veer.yaml');
  const write = (c: Record<string, unknown>): Promise<void> =>
    writeFile(
      file,
      stringify({
        // Port 0 in every write: a reload compares the file with the last one, so this moves nothing.
        listen: '127.0.0.1:0',
        state: { store: 'memory' },
        accessLog: { enabled: false }, // a test of the log gives its own section
        workers: 1, // one process whatever the machine's cores; the tests of `workers` give their own
        ...c,
        admin: { listen: '127.0.0.1:0', ...(c.admin as object | undefined) },
      }),
    );
  await write(config);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VEER_')));
  const argv = [process.execPath, ...nodeArgs, ...CLI_ENTRY, 'start', '-c', file];
  const [cmd, ...args] = [...wrapper, ...argv] as [string, ...string[]];
  const child = spawnTracked(cmd, args, { cwd: ROOT, env });
  let out = '';
  const keep = (c: Buffer): void => {
    out = (out + c.toString()).slice(-8_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  h.defer(() => stopChild(child));
  const started = await veerStarted(child, () => out, readyTimeoutMs);
  const [dataPort, adminPort] = [portOf(started.listen), portOf(started.admin)];
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const token = (config.admin as { token?: string } | undefined)?.token;
  const headers = token ? { authorization: `Bearer ${token}` } : undefined;
  await waitFor(
    async () => (await http(`${adminUrl}/readyz`, { timeoutMs: 1_000, headers }).catch(() => null))?.status === 200,
    `veer to be ready (output: ${out})`,
    readyTimeoutMs,
  );
  return {
    child,
    file,
    dataPort,
    adminPort,
    dataUrl: `http://127.0.0.1:${dataPort}`,
    adminUrl,
    output: () => out,
    write,
  };
}
