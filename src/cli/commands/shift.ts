// `veer shift <service> <weight>`: move traffic by hand. Range and precision are checked by the
// API (one source of truth); only a non-number is refused here, since JSON cannot carry it as one.
import type { ServiceStatus } from '../../api/ports.js';
import { AdminClient, failureLines, resolveAdmin } from '../client.js';
import { EXIT, type Command } from '../command.js';

export const shiftCommand: Command = {
  name: 'shift',
  synopsis: 'shift <service> <weight>',
  summary: "set the canary's share of traffic, in percent (0-100, up to 2 decimals)",
  options: ['admin', 'token'],
  positionals: { min: 2, max: 2 },
  async run(args, io) {
    const [name, raw] = args.positionals as [string, string];
    const weight = raw.trim() === '' ? NaN : Number(raw.replace(/%$/, ''));
    if (!Number.isFinite(weight)) {
      io.err(`error: weight must be a number from 0 to 100, got "${raw}"`);
      return EXIT.usage;
    }
    const target = resolveAdmin(args.values, io.env);
    if (!target.ok) {
      io.err(`error: ${target.error.message}`);
      return EXIT.usage;
    }
    const client = new AdminClient(target.value);
    try {
      const r = await client.post(`/v1/services/${encodeURIComponent(name)}/shift`, { weight });
      if (!r.ok) {
        failureLines(r.error).forEach((l) => io.err(l));
        return EXIT.failure;
      }
      const status = r.value as ServiceStatus;
      io.out(`${status.name}: canary weight ${status.weight}%`);
      return EXIT.ok;
    } finally {
      await client.close();
    }
  },
};
