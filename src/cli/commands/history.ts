// `veer history <service> [--json]`, `veer undo <service>` and `veer retry <service>`: the service's
// last rollouts, and the two rollouts started from them. undo and retry print the new rollout and,
// with --wait, follow it like `veer rollout --wait` (exit 0 succeeded, 1 rolled back or aborted).
import { historyAnswer, rolloutAnswer } from '../answers.js';
import { EXIT, type Command } from '../command.js';
import { formatHistoryTable } from '../history-table.js';
import { withAdmin } from '../session.js';
import { callTimeout, follow, waitLimit, waitTimeoutMs } from '../rollout-follow.js';

const servicePath = (service: string): string => `/v1/services/${encodeURIComponent(service)}`;

export const historyCommand: Command = {
  name: 'history',
  synopsis: 'history <service> [--json]',
  summary: "list the service's last rollouts, newest first (outcome, duration, canary, reason)",
  options: ['json', 'admin', 'token'],
  positionals: { min: 1, max: 1 },
  service: true,
  async run(args, io) {
    const service = args.positionals[0] as string;
    return withAdmin(args.values, io, async (s) => {
      const value = await s.get(`${servicePath(service)}/rollouts`, historyAnswer);
      if (value === null) return EXIT.failure;
      io.out(
        args.values.json ? JSON.stringify(value, null, 2) : formatHistoryTable(service, value.rollouts, Date.now()),
      );
      return EXIT.ok;
    });
  },
};

function rerunCommand(kind: 'undo' | 'retry'): Command {
  return {
    name: kind,
    synopsis: `${kind} <service> [--wait [--timeout 1h]]`,
    summary:
      kind === 'undo'
        ? 'go back to the generation before the last promoted rollout (a quick rollout, steps [100])'
        : 'run the latest rolled-back or aborted rollout again (same canary, same overrides)',
    options: ['wait', 'timeout', 'admin', 'token'],
    positionals: { min: 1, max: 1 },
    service: true,
    async run(args, io) {
      const service = args.positionals[0] as string;
      const timeout = waitTimeoutMs(args.values);
      if (typeof timeout === 'string') {
        io.err(`error: ${timeout}`);
        return EXIT.usage;
      }
      const limit = waitLimit(timeout);
      return withAdmin(
        args.values,
        io,
        async (s) => {
          const status = await s.post(`${servicePath(service)}/rollout/${kind}`, undefined, rolloutAnswer);
          if (status === null) return EXIT.failure;
          io.out(`${service}: ${kind} started rollout ${status.id} ${status.phase} (weight ${status.weight}%)`);
          if (!args.values.wait) return EXIT.ok;
          return follow(s.client, service, status.id, limit, io);
        },
        callTimeout(args.values.wait === true, limit),
      );
    },
  };
}

export const undoCommand = rerunCommand('undo');
export const retryCommand = rerunCommand('retry');
