// Child-process bookkeeping for the bench: every child is tracked by pid so that a normal end, an
// error and Ctrl-C all leave nothing running. Waits are bounded; nothing here retries forever.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const live = new Map(); // pid -> { name, proc }
const exitHooks = [];
let interrupted = false;

/** True once SIGINT/SIGTERM/SIGHUP arrived: no new children start and no results are written. */
export const wasInterrupted = () => interrupted;

/** Path to `taskset`, or null when it is missing (then everything runs unpinned). */
export const tasksetPath =
  ['/usr/bin/taskset', '/bin/taskset'].find((p) => existsSync(p)) ??
  (spawnSync('sh', ['-c', 'command -v taskset'], { encoding: 'utf8' }).stdout.trim() || null);

/** Register a synchronous clean-up (temp dirs) that also runs on error and SIGINT. */
export function onCleanup(fn) {
  exitHooks.push(fn);
}

/**
 * Start `cmd args` pinned to `cpu` (when taskset exists). taskset execs the command, so the pid we
 * hold is the real process's pid and signals reach it directly.
 */
export function startChild(name, cmd, args, { cpu, env, cwd, stdoutFd } = {}) {
  if (interrupted) throw new Error(`${name}: not started, the bench was interrupted`);
  const pinned = tasksetPath && cpu !== undefined;
  const file = pinned ? tasksetPath : cmd;
  const argv = pinned ? ['-c', String(cpu), cmd, ...args] : args;
  // `stdoutFd`: the child writes its standard output there (a file) instead of to us (see bench/veer.mjs).
  const stdout = stdoutFd ?? 'pipe';
  const proc = spawn(file, argv, { cwd, env: { ...process.env, ...env }, stdio: ['pipe', stdout, 'pipe'] });
  const child = { name, proc, pid: proc.pid, stderr: '', exited: null, jsonLines: [], partial: '', onJson: null };
  proc.on('error', (err) => {
    child.stderr += `\nspawn error: ${err.message}`;
  });
  if (proc.pid === undefined) throw new Error(`${name}: could not start ${cmd}`);
  live.set(proc.pid, child);
  // Only JSON lines are kept (a chatty proxy's logs must not pile up in memory).
  proc.stdout?.setEncoding('utf8').on('data', (d) => collectJson(child, d));
  proc.stderr.setEncoding('utf8').on('data', (d) => {
    child.stderr = (child.stderr + d).slice(-20_000);
  });
  child.exitPromise = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      child.exited = { code, signal };
      live.delete(proc.pid);
      resolve(child.exited);
    });
  });
  // 'close' comes after stdout is drained, unlike 'exit': a result printed just before exiting is seen.
  child.closePromise = new Promise((resolve) => proc.on('close', () => resolve(child.exited ?? { code: null })));
  // Our own scripts exit when this pipe closes, so even a SIGKILLed bench leaves none behind.
  proc.stdin.on('error', () => {});
  return child;
}

function collectJson(child, data) {
  const lines = (child.partial + data).split('\n');
  child.partial = (lines.pop() ?? '').slice(-1_000_000);
  for (const line of lines) {
    const v = tryJson(line);
    if (v === undefined) continue;
    if (child.jsonLines.length < 100) child.jsonLines.push(v);
    child.onJson?.(v);
  }
}

/** Resolve with the first stdout JSON line that satisfies `pick`, within `timeoutMs`. */
export function waitForJsonLine(child, pick, timeoutMs) {
  return new Promise((resolve, reject) => {
    const found = child.jsonLines.find(pick);
    if (found) return resolve(found);
    let done = false;
    const finish = (fn, v) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.onJson = null;
      fn(v);
    };
    const timer = setTimeout(
      () => finish(reject, new Error(`${child.name}: no result within ${timeoutMs} ms\n${tail(child)}`)),
      timeoutMs,
    );
    child.onJson = (v) => {
      if (pick(v)) finish(resolve, v);
    };
    child.closePromise.then((e) => {
      finish(reject, new Error(`${child.name} exited (${e.code ?? e.signal}) before reporting\n${tail(child)}`));
    });
  });
}

function tryJson(line) {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

export function tail(child) {
  return child.stderr.trim().split('\n').slice(-15).join('\n');
}

/** SIGTERM by pid, wait up to `graceMs`, then SIGKILL and wait a little more. */
export async function stopChild(child, graceMs = 10_000) {
  if (child.exited) return child.exited;
  signal(child.pid, 'SIGTERM');
  child.proc.stdin.end();
  const first = await Promise.race([child.exitPromise, sleep(graceMs).then(() => null)]);
  if (first) return first;
  signal(child.pid, 'SIGKILL');
  const second = await Promise.race([child.exitPromise, sleep(3_000).then(() => null)]);
  return second ?? { code: null, signal: 'SIGKILL (no exit seen)' };
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Pids of every process below `roots` (an nginx master's workers outlive a SIGKILLed master). */
function descendants(roots) {
  const children = new Map();
  let names = [];
  try {
    names = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return [];
  }
  for (const name of names) {
    try {
      const st = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // exited meanwhile
    }
  }
  const out = [];
  const queue = [...roots];
  while (queue.length > 0 && out.length < 10_000) {
    for (const c of children.get(queue.shift()) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** Synchronous last resort for 'exit' / crashes: no waiting is possible there. */
export function killAllNow() {
  const roots = [...live.keys()];
  for (const pid of [...roots, ...descendants(roots)]) signal(pid, 'SIGKILL');
  live.clear();
  while (exitHooks.length > 0) {
    try {
      exitHooks.pop()();
    } catch {
      // clean-up is best effort on the way out
    }
  }
}

let installed = false;
export function installExitHandlers() {
  if (installed) return;
  installed = true;
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      if (interrupted) return;
      interrupted = true;
      console.error(`\n${sig}: stopping ${live.size} child process(es)`);
      // SIGTERM first so nginx and veer can stop their own workers; SIGKILL whatever is left.
      const children = [...live.values()];
      Promise.race([Promise.all(children.map((c) => stopChild(c, 2_000))), sleep(3_000)]).finally(() => {
        killAllNow();
        process.exit(130);
      });
    });
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs a bench's main() and exits: 0 when done, 1 (children killed) when it failed, 130 when interrupted. */
export function runBench(main) {
  main().then(
    () => {
      if (!wasInterrupted()) process.exit(0);
    },
    (err) => {
      if (wasInterrupted()) return; // the signal handler is already stopping everything and exits 130
      console.error(`bench failed: ${err?.stack ?? err}`);
      killAllNow();
      process.exit(1);
    },
  );
}
