// `veer reload`: the replica behind --admin re-reads its config file. Each replica reloads its own
// file: with several, call each one (or send each SIGHUP). An invalid file exits 2 naming the fields.
import type { ReloadReport } from '../../api/ports.js';
import { reloadAnswer } from '../answers.js';
import { AdminClient, failureLines, resolveAdmin } from '../client.js';
import { EXIT, type Command } from '../command.js';

export function reloadSummary(r: ReloadReport): string[] {
  const parts = [
    r.added.length > 0 ? `added ${r.added.join(', ')}` : null,
    r.removed.length > 0 ? `removed ${r.removed.join(', ')}` : null,
    r.changed.length > 0 ? `changed ${r.changed.join(', ')}` : null,
    r.listen !== null ? `now listening on ${r.listen}` : null,
    r.token ? 'admin token changed' : null,
    r.webhooks ? 'webhooks changed' : null,
  ].filter((p): p is string => p !== null);
  const lines = [`reloaded: ${parts.length > 0 ? parts.join('; ') : 'no service changed'}`];
  if (r.restart.length > 0) lines.push(`needs a restart (not applied): ${r.restart.join(', ')}`);
  return lines;
}

export const reloadCommand: Command = {
  name: 'reload',
  synopsis: 'reload [--json]',
  summary: 're-read the config file of the replica behind --admin (connections stay open)',
  options: ['admin', 'token', 'json'],
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const target = resolveAdmin(args.values, io.env);
    if (!target.ok) {
      io.err(`error: ${target.error.message}`);
      return EXIT.usage;
    }
    const client = new AdminClient(target.value);
    try {
      const r = await client.post('/v1/reload', undefined, reloadAnswer);
      if (!r.ok) {
        failureLines(r.error).forEach((l) => io.err(l));
        return r.error.code === 'config_invalid' ? EXIT.config : EXIT.failure;
      }
      const report = r.value;
      if (args.values.json) io.out(JSON.stringify(report, null, 2));
      else reloadSummary(report).forEach((l) => io.out(l));
      return EXIT.ok;
    } finally {
      await client.close();
    }
  },
};
