// `veer status [service] [--json]`
import type { ServiceStatus } from '../../api/ports.js';
import { withAdmin } from '../session.js';
import type { ClusterView } from '../../api/ports.js';
import { EXIT, type Command } from '../command.js';
import { formatStatusTable } from '../status-table.js';

export const statusCommand: Command = {
  name: 'status',
  synopsis: 'status [service] [--json]',
  summary: "show services: weight, pools' health, live metrics, rollout phase",
  options: ['json', 'admin', 'token'],
  positionals: { min: 0, max: 1 },
  async run(args, io) {
    const name = args.positionals[0];
    return withAdmin(args.values, io, async (s) => {
      const value = await s.get(name === undefined ? '/v1/services' : `/v1/services/${encodeURIComponent(name)}`);
      if (value === null) return EXIT.failure;
      if (args.values.json) {
        io.out(JSON.stringify(value, null, 2));
        return EXIT.ok;
      }
      const services = name === undefined ? (value as ServiceStatus[]) : [value as ServiceStatus];
      io.out(formatStatusTable(services, { detail: name !== undefined }));
      const cluster = (await s.client.get('/v1/cluster')) as { ok: boolean; value?: ClusterView };
      if (cluster.ok && cluster.value) io.out(clusterLine(cluster.value));
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
