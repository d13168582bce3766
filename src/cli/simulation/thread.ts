// Runs a simulation job on its own thread, so that the scenario's code cannot take the CLI with it:
// `process.exit()` ends only that thread, and code that never returns (an endless loop in `traffic`,
// a top-level await that never settles) is noticed by its heartbeat standing still and the thread
// is stopped. --max-seconds bounds virtual time; this bounds the real time of each call into the
// scenario, which a real traffic function spends microseconds in.
import { Worker } from 'node:worker_threads';
import { assertNever, err, ok, type Result } from '../../domain/errors.js';
import { runJob, type SimDone, type SimJob } from './job.js';
import { heartbeatMemory, readHeartbeat, type ThreadMessage } from './thread-protocol.js';

/** How long one call into the scenario (its loading included) may run before it counts as stuck. */
export const STALL_MS = 10_000;
const CHECK_MS = 250;
const FROM_SOURCE = import.meta.url.endsWith('.ts');

/**
 * Built: worker.js. From source (tests, development through tsx): worker.ts, with tsx registered in the
 * thread first, since Node 20 does not carry the main thread's --import hooks into it.
 */
function startThread(workerData: unknown): Worker {
  if (!FROM_SOURCE) return new Worker(new URL('./worker.js', import.meta.url), { workerData });
  const entry = JSON.stringify(new URL('./worker.ts', import.meta.url).href);
  const code = `import('tsx/esm/api').then((t) => { t.register(); return import(${entry}); });`;
  return new Worker(code, { eval: true, workerData });
}

export function runOnThread(job: SimJob, progress: (done: number) => void): Promise<Result<SimDone, string>> {
  // Node 20 does not apply the main thread's loader hooks (`node --import tsx`) in a worker, where a
  // TypeScript scenario would not load: it runs here, as before, without the bound on its real time.
  if (/\.[cm]?ts$/.test(job.path)) return runJob(job, { enter: () => undefined }, progress);
  const beats = heartbeatMemory();
  const worker = startThread({ job, beats });
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: Result<SimDone, string>): void => {
      if (settled) return;
      settled = true;
      clearInterval(watch);
      resolve(r);
      void worker.terminate();
    };
    let last = readHeartbeat(beats);
    let since = Date.now();
    const watch = setInterval(() => {
      const now = readHeartbeat(beats);
      if (now.count !== last.count) [last, since] = [now, Date.now()];
      else if (Date.now() - since >= STALL_MS) finish(err(stuck(job.path, now.where)));
    }, CHECK_MS);
    worker.on('message', (m: ThreadMessage) => {
      if (m.kind === 'progress') progress(m.done);
      else finish(outcome(job.path, m));
    });
    worker.on('error', (e) => finish(err(`${job.path}: the scenario failed: ${firstLine(e.message)}`)));
    worker.on('exit', (code) =>
      finish(
        err(
          `${job.path}: the simulation ended before it finished (exit code ${code}): ` +
            'the scenario called process.exit(), or has a top-level await that never settles',
        ),
      ),
    );
  });
}

function outcome(path: string, m: Exclude<ThreadMessage, { kind: 'progress' }>): Result<SimDone, string> {
  switch (m.kind) {
    case 'done':
      return ok(m.value);
    case 'invalid':
      return err(m.message);
    case 'failed':
      return err(`${path}: the simulation failed: ${firstLine(m.message)}`);
    default:
      return assertNever(m, 'simulation thread message');
  }
}

const stuck = (path: string, where: string): string =>
  `${path}: the scenario's code did not return within ${STALL_MS / 1000}s of real time ${where} ` +
  '(an endless loop, or an await that never settles?); stopped';

const firstLine = (s: string): string => s.split('\n', 1)[0] ?? '';
