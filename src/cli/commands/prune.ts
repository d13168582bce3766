// `veer prune [--dry-run] [--json]`: remove (or, with --dry-run, list) the containers this
// installation created that no live pool or rollout claims - those of services removed from the
// config, of rolled-back rollouts whose removal was interrupted, … Containers without veer's owner
// label are never touched. Exit 1 when a container could not be removed or an engine did not answer.
import type { PruneReport } from '../../api/ports.js';
import { pruneAnswer } from '../answers.js';
import { withAdmin } from '../session.js';
import { EXIT, type Command } from '../command.js';

/** Removing stops containers (each up to its grace period, in parallel): more than a status call's 10 s. */
const PRUNE_TIMEOUT_MS = 180_000;

export const pruneCommand: Command = {
  name: 'prune',
  synopsis: 'prune [--dry-run] [--json]',
  summary: "remove this installation's orphaned containers (--dry-run: only list them)",
  options: ['dry-run', 'json', 'admin', 'token'],
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const dryRun = args.values['dry-run'] === true;
    return withAdmin(
      args.values,
      io,
      async (s) => {
        const report = await s.post('/v1/prune', { dryRun }, pruneAnswer);
        if (report === null) return EXIT.failure;
        if (args.values.json) io.out(JSON.stringify(report, null, 2));
        else for (const line of pruneLines(report)) io.out(line);
        const failed = report.unreachable.length > 0 || report.containers.some((c) => c.error !== undefined);
        return failed ? EXIT.failure : EXIT.ok;
      },
      PRUNE_TIMEOUT_MS,
    );
  },
};

export function pruneLines(r: PruneReport): string[] {
  const lines: string[] = [];
  const verb = r.dryRun ? 'would remove' : 'removed';
  for (const c of r.containers) {
    const what = `${c.name} (${c.id.slice(0, 12)} on ${c.endpoint})`;
    lines.push(c.error !== undefined ? `could not remove ${what}: ${c.error}` : `${verb} ${what}: ${c.reason}`);
  }
  for (const u of r.unreachable) lines.push(`endpoint ${u.endpoint} did not answer: ${u.error}`);
  if (r.containers.length === 0 && r.unreachable.length === 0) lines.push('nothing to prune');
  return lines;
}
