// `veer maintenance <service> on|off [--mode hold|page] [--retry-after 30s]`: the service's
// maintenance switch, on every replica. `hold` keeps new requests waiting (bounded) until `off`;
// `page` answers them 503 with the maintenance page. The API checks the values (its refusal: exit 64);
// what it would take differently than written (a fractional Retry-After, rounded) is refused here; options
// that mean nothing with `off` are said to be ignored (a script may always pass --mode), never sent.
import { maintenanceAnswer } from '../answers.js';
import { withAdmin } from '../session.js';
import { EXIT, type Command } from '../command.js';
import type { OptionValues } from '../args.js';
import { parseDuration } from '../../domain/duration.js';
import type { FieldFlags } from '../field-flags.js';

const MAINTENANCE_FLAGS: FieldFlags = [
  ['mode', '--mode'],
  ['retryAfter', '--retry-after'],
];

export const maintenanceCommand: Command = {
  name: 'maintenance',
  synopsis: 'maintenance <service> on|off [--mode hold|page] [--retry-after 30s]',
  summary: 'hold new requests, or answer them with a 503 maintenance page (off: let them through)',
  options: ['mode', 'retry-after', 'admin', 'token', 'json'],
  positionals: { min: 2, max: 2 },
  service: true,
  async run(args, io) {
    const [service, state] = args.positionals as [string, string];
    const problem = optionsProblem(state, args.values);
    if (problem !== null) {
      io.err(`error: ${problem}`);
      return EXIT.usage;
    }
    const on = state === 'on';
    const ignored = on ? [] : (['mode', 'retry-after'] as const).filter((o) => args.values[o] !== undefined);
    if (ignored.length > 0)
      io.err(`warning: --${ignored.join(' and --')} ignored with "off" (it lets requests through)`);
    const body = {
      on,
      ...(on && args.values.mode !== undefined ? { mode: args.values.mode } : {}),
      ...(on && args.values['retry-after'] !== undefined ? { retryAfter: args.values['retry-after'] } : {}),
    };
    return withAdmin(args.values, io, async (session) => {
      const set = await session.send(
        `/v1/services/${encodeURIComponent(service)}/maintenance`,
        body,
        maintenanceAnswer,
        MAINTENANCE_FLAGS,
      );
      if (!set.ok) return set.error;
      const m = set.value;
      if (args.values.json) io.out(JSON.stringify(m, null, 2));
      else io.out(`${service}: maintenance ${m.on ? `on (${m.mode})` : 'off'}`);
      return EXIT.ok;
    });
  },
};

function optionsProblem(state: string, v: OptionValues): string | null {
  if (state !== 'on' && state !== 'off') return `expected "on" or "off" after the service name, got "${state}"`;
  if (state === 'off') return null;
  const retryAfter = v['retry-after'];
  if (retryAfter === undefined) return null;
  // Retry-After is whole seconds: the API would round "1.5s" up to 2 unasked. Its range and syntax are the API's.
  const d = parseDuration(retryAfter);
  return !d.ok || d.ms % 1000 === 0 ? null : `--retry-after: expected whole seconds like "30s", got "${retryAfter}"`;
}
