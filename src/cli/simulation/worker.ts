// The simulation thread's entry: runs one job (job.ts) and posts its progress and its result. A
// scenario that calls process.exit() ends only this thread, which the main thread reports.
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../../domain/errors.js';
import { runJob, type SimJob } from './job.js';
import { heartbeatWriter, type ThreadMessage } from './thread-protocol.js';

const { job, beats } = workerData as { job: SimJob; beats: SharedArrayBuffer };
const post = (m: ThreadMessage): void => parentPort?.postMessage(m);

runJob(job, heartbeatWriter(beats), (done) => post({ kind: 'progress', done })).then(
  (r) => post(r.ok ? { kind: 'done', value: r.value } : { kind: 'invalid', message: r.error }),
  (e: unknown) => post({ kind: 'failed', message: errorMessage(e) }),
);
