// `veer status [service] [--json]`, and `--watch` (status-watch.ts): the same numbers, refreshing
import { withAdmin } from '../session.js';
import type { ClusterView } from '../../api/ports.js';
import { clusterAnswer, serviceAnswer, servicesAnswer } from '../answers.js';
import { EXIT, type Command } from '../command.js';
import { formatStatusTable } from '../status-table.js';
import { watchOptions, watchStatus } from './status-watch.js';

/** The watch reads often: a call that takes longer is shown as a lost connection and retried. */
const WATCH_CALL_TIMEOUT_MS = 5_000;

export const statusCommand: Command = {
  name: 'status',
  synopsis: 'status [service] [--json | --watch [--interval 2s] [--timeout 24h]]',
  summary: "show services: weight, pools' health, live metrics, rollout phase; --watch keeps it live",
  options: ['json', 'watch', 'interval', 'timeout', 'admin', 'token'],
  positionals: { min: 0, max: 1 },
  service: true,
  async run(args, io) {
    const name = args.positionals[0];
    const v = args.values;
    if (v.watch || v.interval !== undefined || v.timeout !== undefined) {
      const opts = v.json
        ? '--json and --watch do not go together'
        : v.watch
          ? watchOptions(v, name ?? null)
          : '--interval and --timeout go with --watch';
      if (typeof opts === 'string') {
        io.err(`error: ${opts}`);
        return EXIT.usage;
      }
      return withAdmin(v, io, (s) => watchStatus(s.client, opts, io), WATCH_CALL_TIMEOUT_MS);
    }
    return withAdmin(args.values, io, async (s) => {
      const services =
        name === undefined
          ? await s.get('/v1/services', servicesAnswer)
          : await s.get(`/v1/services/${encodeURIComponent(name)}`, serviceAnswer).then((one) => one && [one]);
      if (services === null) return EXIT.failure;
      if (args.values.json) {
        io.out(JSON.stringify(name === undefined ? services : services[0], null, 2));
        return EXIT.ok;
      }
      io.out(formatStatusTable(services, { detail: name !== undefined }));
      // Older or single-replica setups may not answer it: the table alone is still the status.
      const cluster = await s.client.get('/v1/cluster', clusterAnswer);
      if (cluster.ok) io.out(clusterLine(cluster.value));
      return EXIT.ok;
    });
  },
};

/** "replicas: 3 (a1b2c3d4 leads; this one e5f6a7b8), seen within the last seconds" */
export function clusterLine(c: ClusterView): string {
  const short = (id: string | null): string => (id === null ? 'none' : id.slice(0, 8));
  const ids = c.replicas.map((r) => (r.id === c.leader ? `${short(r.id)}*` : short(r.id))).join(', ');
  const self = c.leader === c.self ? ' (this one)' : '';
  return `replicas: ${c.replicas.length} [${ids}]; leader ${short(c.leader)}${self}`;
}
