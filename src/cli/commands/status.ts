// `veer status [service] [--json]`
import type { ServiceStatus } from '../../api/ports.js';
import { AdminClient, failureLines, resolveAdmin } from '../client.js';
import { EXIT, type Command } from '../command.js';
import { formatStatusTable } from '../status-table.js';

export const statusCommand: Command = {
  name: 'status',
  synopsis: 'status [service] [--json]',
  summary: "show services: weight, pools' health, live metrics, rollout phase",
  options: ['json', 'admin', 'token'],
  positionals: { min: 0, max: 1 },
  async run(args, io) {
    const target = resolveAdmin(args.values, io.env);
    if (!target.ok) {
      io.err(`error: ${target.error.message}`);
      return EXIT.usage;
    }
    const name = args.positionals[0];
    const client = new AdminClient(target.value);
    try {
      const r = await client.get(name === undefined ? '/v1/services' : `/v1/services/${encodeURIComponent(name)}`);
      if (!r.ok) {
        failureLines(r.error).forEach((l) => io.err(l));
        return EXIT.failure;
      }
      if (args.values.json) {
        io.out(JSON.stringify(r.value, null, 2));
        return EXIT.ok;
      }
      const services = name === undefined ? (r.value as ServiceStatus[]) : [r.value as ServiceStatus];
      io.out(formatStatusTable(services));
      return EXIT.ok;
    } finally {
      await client.close();
    }
  },
};
