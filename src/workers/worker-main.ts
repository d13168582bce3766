// The entry of a worker process (`veer start` forked by node:cluster): the IPC port and signals.
import cluster from 'node:cluster';
import { systemClock } from '../domain/clock.js';
import { jsonLogger, type Logger } from '../domain/log.js';
import { DataWorker, type PrimaryPort } from './worker.js';

const tagged = (log: Logger, fields: Record<string, unknown>): Logger => ({
  log: (level, msg, more) => log.log(level, msg, { ...fields, ...more }),
});

const port: PrimaryPort = {
  send(msg, sent) {
    // The primary may be gone already: what would have been sent is dropped, the caller goes on.
    if (!process.connected || process.send === undefined) return sent?.();
    try {
      process.send(msg, undefined, undefined, () => sent?.());
    } catch {
      sent?.();
    }
  },
};

export function runWorker(): Promise<number> {
  const log = tagged(jsonLogger(), { worker: cluster.worker?.id ?? null, pid: process.pid });
  const worker = new DataWorker(port, { clock: systemClock, log });
  // A `conn` message comes with the connection's socket.
  process.on('message', (m, socket) => worker.handle(m, socket));
  // The primary coordinates reloads and shutdown: a terminal's Ctrl-C or hangup reaches the whole
  // process group, and the primary's own signal handling tells each worker what to do.
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  process.on('SIGUSR1', () => worker.reopen());
  process.on('SIGTERM', () => void worker.shutdown());
  process.on('disconnect', () => void worker.shutdown());
  return worker.run();
}
