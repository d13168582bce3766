// `veer shift <service> <weight>`: move traffic by hand. Range and precision are checked by the
// API (one source of truth); only a non-number is refused here, since JSON cannot carry it as one.
import type { ServiceStatus } from '../../api/ports.js';
import { withAdmin } from '../session.js';
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
    return withAdmin(args.values, io, async (s) => {
      const status = (await s.post(`/v1/services/${encodeURIComponent(name)}/shift`, {
        weight,
      })) as ServiceStatus | null;
      if (status === null) return EXIT.failure;
      io.out(`${status.name}: canary weight ${status.weight}%`);
      return EXIT.ok;
    });
  },
};
