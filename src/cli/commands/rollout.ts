// `veer rollout <service> (--targets h:p,… | --image img …) [--wait]`: start a rollout and, with
// --wait, follow it to its outcome so CI gets an exit code: 0 succeeded, 1 rolled back, aborted or
// timed out. Values are checked by the API (one source of truth): a value it refuses is a usage error
// (exit 64); only what JSON cannot carry (a count or a step that is not a number) and contradictory flags
// are refused here.
import { rolloutAnswer } from '../answers.js';
import { withAdmin } from '../session.js';
import { EXIT, type Command } from '../command.js';
import { requestBody, ROLLOUT_FLAGS } from '../rollout-request.js';
import { callTimeout, follow, waitLimit, waitTimeoutMs } from '../rollout-follow.js';

export const rolloutCommand: Command = {
  name: 'rollout',
  synopsis: 'rollout <service> (--targets h:p,… | --image img) [--wait] [options]',
  summary: 'start a rollout of a new canary pool; --wait follows it (exit 0 succeeded, 1 rolled back/aborted)',
  options: [
    'targets',
    'image',
    'env',
    'count',
    'steps',
    'step-interval',
    'strategy',
    'wait',
    'timeout',
    'admin',
    'token',
  ],
  positionals: { min: 1, max: 1 },
  service: true,
  async run(args, io) {
    const service = args.positionals[0] as string;
    const body = requestBody(args.values);
    const timeout = waitTimeoutMs(args.values);
    const problem = !body.ok ? body.error : typeof timeout === 'string' ? timeout : null;
    if (problem !== null) {
      io.err(`error: ${problem}`);
      return EXIT.usage;
    }
    const limit = waitLimit(typeof timeout === 'number' ? timeout : 0);
    return withAdmin(
      args.values,
      io,
      async (s) => {
        const started = await s.send(
          `/v1/services/${encodeURIComponent(service)}/rollouts`,
          body.ok ? body.value : undefined,
          rolloutAnswer,
          ROLLOUT_FLAGS,
        );
        if (!started.ok) return started.error;
        const status = started.value;
        io.out(`${service}: rollout ${status.id} ${status.phase} (${status.strategy}, weight ${status.weight}%)`);
        if (!args.values.wait) return EXIT.ok;
        return follow(s.client, service, status.id, limit, io);
      },
      callTimeout(args.values.wait === true, limit),
    );
  },
};
