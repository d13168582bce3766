// `veer shift <service> <weight>`: move traffic by hand. Range and precision are checked by the
// API (one source of truth; its refusal is a usage error, exit 64); only what is not a plain decimal is
// refused here (see weight.ts).
import { serviceAnswer } from '../answers.js';
import { withAdmin } from '../session.js';
import { EXIT, type Command } from '../command.js';
import { plainDecimal } from '../weight.js';

export const shiftCommand: Command = {
  name: 'shift',
  synopsis: 'shift <service> <weight>',
  summary: "set the canary's share of traffic, in percent (0-100, up to 2 decimals); pauses a running rollout",
  options: ['admin', 'token'],
  positionals: { min: 2, max: 2 },
  service: true,
  async run(args, io) {
    const [name, raw] = args.positionals as [string, string];
    const weight = plainDecimal(raw.trim().replace(/\s*%$/, ''));
    if (weight === null) {
      io.err(`error: <weight>: expected a plain decimal percentage from 0 to 100 like 10 or 12.5, got "${raw}"`);
      return EXIT.usage;
    }
    return withAdmin(args.values, io, async (s) => {
      const shifted = await s.send(`/v1/services/${encodeURIComponent(name)}/shift`, { weight }, serviceAnswer, [
        ['weight', '<weight>'],
      ]);
      if (!shifted.ok) return shifted.error;
      const status = shifted.value;
      io.out(`${status.name}: canary weight ${status.weight}%`);
      // During a rollout a shift pauses it (the rollout would move the weight back otherwise): not a surprise
      // to find later in `veer status`, or from a --wait that stops moving.
      const r = status.rollout;
      if (r?.phase === 'paused')
        io.out(`rollout ${r.id} paused: ${r.reason ?? 'no reason given'} (veer resume ${status.name} continues it)`);
      return EXIT.ok;
    });
  },
};
