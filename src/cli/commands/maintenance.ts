// `veer maintenance <service> on|off [--mode hold|page] [--retry-after 30s]`: the service's
// maintenance switch, on every replica. `hold` keeps new requests waiting (bounded) until `off`;
// `page` answers them 503 with the maintenance page. The API checks the values.
import type { Maintenance } from '../../domain/maintenance.js';
import { withAdmin } from '../session.js';
import { EXIT, type Command } from '../command.js';

export const maintenanceCommand: Command = {
  name: 'maintenance',
  synopsis: 'maintenance <service> on|off [--mode hold|page] [--retry-after 30s]',
  summary: 'hold new requests, or answer them with a 503 maintenance page (off: let them through)',
  options: ['mode', 'retry-after', 'admin', 'token', 'json'],
  positionals: { min: 2, max: 2 },
  async run(args, io) {
    const [service, state] = args.positionals as [string, string];
    if (state !== 'on' && state !== 'off') {
      io.err(`error: expected "on" or "off" after the service name, got "${state}"`);
      return EXIT.usage;
    }
    const body = {
      on: state === 'on',
      ...(args.values.mode !== undefined ? { mode: args.values.mode } : {}),
      ...(args.values['retry-after'] !== undefined ? { retryAfter: args.values['retry-after'] } : {}),
    };
    return withAdmin(args.values, io, async (session) => {
      const m = (await session.post(
        `/v1/services/${encodeURIComponent(service)}/maintenance`,
        body,
      )) as Maintenance | null;
      if (m === null) return EXIT.failure;
      if (args.values.json) io.out(JSON.stringify(m, null, 2));
      else io.out(`${service}: maintenance ${m.on ? `on (${m.mode})` : 'off'}`);
      return EXIT.ok;
    });
  },
};
