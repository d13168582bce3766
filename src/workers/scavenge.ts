// Whether a data-plane process collects its young generation (a scavenge, every ~100 ms at full load)
// with V8's helper threads. V8 asks Node's platform pool for them (4 threads) whatever the cores this
// process may run on: with no core of its own to spare (pinned by taskset or a container's cpuset, or as
// many data-plane processes as cores), the helpers only take turns with the request path and make each
// pause longer. Measured pinned to one core at 6,700 req/s: a scavenge's median 1.11 ms with helpers,
// 0.70 ms without (--trace-gc), and it is the pause that paced requests meet in their p99.
import cluster from 'node:cluster';
import v8 from 'node:v8';

const SERIAL_SCAVENGE_FLAG = '--no-parallel-scavenge';

/**
 * `cores`: os.availableParallelism() (it follows the CPU affinity, not a CPU quota); `dataPlanes`: the
 * processes serving requests (1: this one). Helpers pay only when each such process has a core to spare.
 */
export function parallelScavenge(cores: number, dataPlanes: number): boolean {
  return cores > dataPlanes;
}

/**
 * Applies the decision: to this process at once when it serves the requests itself (V8 reads the flag at
 * each scavenge), else to the workers it will fork. Returns whether scavenges are serial.
 */
export function applyScavengePolicy(cores: number, dataPlanes: number): boolean {
  if (parallelScavenge(cores, dataPlanes)) return false;
  if (dataPlanes <= 1) v8.setFlagsFromString(SERIAL_SCAVENGE_FLAG);
  // setupPrimary merges: the serialization the worker pool sets later keeps these arguments.
  else cluster.setupPrimary({ execArgv: [...process.execArgv, SERIAL_SCAVENGE_FLAG] });
  return true;
}
