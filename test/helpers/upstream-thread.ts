// A test upstream on its own thread: the same answers as upstream.ts's (a fixed status, a delay, the
// server's name as body and x-upstream header), served by a worker thread's event loop. A test process
// that also spawns replicas and drives their traffic can be busy, or starved of CPU on a loaded host,
// for seconds at a time; an upstream on its main thread then leaves veer's new connections unaccepted
// (seen: 100+ in its listen queue for ~5 s) and the replicas' clients time out on requests veer sent on
// at once. A thread that only serves sleeps between requests, so the scheduler runs it as soon as one
// comes. Its request count lives in shared memory: `hits` reads it exactly, with no message.
import { Worker } from 'node:worker_threads';
import { withTimeout } from './process.js';
import type { TestUpstream, UpstreamBehaviour } from './upstream.js';

/** The behaviours a thread can serve: no function crosses to it. */
export type PlainBehaviour = Partial<Pick<UpstreamBehaviour, 'delayMs' | 'body'>> & { status?: number };

/** Shared slots: requests seen, status, delay (ms). */
const HITS = 0;
const STATUS = 1;
const DELAY = 2;

// CommonJS, evaluated by the worker: no TypeScript reaches a worker thread.
const SERVER = `
const { workerData, parentPort } = require('node:worker_threads');
const { createServer } = require('node:http');
const shared = new Int32Array(workerData.shared);
const sockets = new Set();
const server = createServer((req, res) => {
  Atomics.add(shared, ${HITS}, 1);
  req.resume();
  req.on('end', () => {
    const send = () => {
      if (res.destroyed) return;
      res.writeHead(Atomics.load(shared, ${STATUS}), { 'content-type': 'text/plain', 'x-upstream': workerData.name });
      res.end(workerData.body);
    };
    const delay = Atomics.load(shared, ${DELAY});
    if (delay > 0) setTimeout(send, delay);
    else send();
  });
});
server.keepAliveTimeout = 10000;
server.on('connection', (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', () => {
  for (const s of sockets) s.destroy();
  server.close(() => process.exit(0));
});
`;

/** Bounds the thread's start and its close. */
const BOUND_MS = 10_000;

export async function startThreadUpstream(name: string, initial: PlainBehaviour = {}): Promise<TestUpstream> {
  const shared = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT);
  const slots = new Int32Array(shared);
  const behave = (b: PlainBehaviour): void => {
    if (b.status !== undefined) Atomics.store(slots, STATUS, b.status);
    if (b.delayMs !== undefined) Atomics.store(slots, DELAY, b.delayMs);
  };
  // Unset or undefined fields take the in-process upstream's defaults.
  behave({ status: initial.status ?? 200, delayMs: initial.delayMs ?? 0 });
  const worker = new Worker(SERVER, { eval: true, workerData: { name, body: initial.body ?? name, shared } });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  // After it listens, an error of the thread (a fault of this file) is left unhandled: vitest reports it.
  const port = await withTimeout(
    new Promise<number>((resolve, reject) => {
      worker.once('message', (m: { port: number }) => resolve(m.port));
      worker.once('error', reject);
      void exited.then(() => reject(new Error('the thread exited before listening')));
    }),
    BOUND_MS,
    `upstream thread ${name} to listen`,
  );
  return {
    name,
    port,
    address: `127.0.0.1:${port}`,
    get hits() {
      return Atomics.load(slots, HITS);
    },
    get requests(): TestUpstream['requests'] {
      throw new Error(`upstream ${name} runs on a thread and keeps no requests: use startUpstream for that`);
    },
    behave(b) {
      if (typeof b.status === 'function' || b.handler !== undefined)
        throw new Error(`upstream ${name} runs on a thread: a status function or handler cannot reach it`);
      behave(b as PlainBehaviour);
    },
    close: async () => {
      worker.postMessage('close');
      // A thread that does not close in time is ended: the test's teardown has a bound.
      await withTimeout(exited, BOUND_MS, `upstream thread ${name} to close`).catch(async () => {
        await worker.terminate();
      });
    },
  };
}
