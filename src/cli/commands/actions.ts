// `veer promote|abort|pause|resume <service>`: act on the running rollout and print its new phase.
// Whether the action fits the phase is the API's call; its 409 already reads
// "cannot pause rollout … : phase is succeeded".
import type { RolloutAction } from '../../api/ports.js';
import { rolloutAnswer } from '../answers.js';
import { assertNever } from '../../domain/errors.js';
import type { OptionName, OptionValues } from '../args.js';
import { withAdmin } from '../session.js';
import { EXIT, type Command } from '../command.js';

interface ActionSpec {
  synopsis: string;
  summary: string;
  options: readonly OptionName[];
}

function spec(action: RolloutAction): ActionSpec {
  switch (action) {
    case 'promote':
      return {
        synopsis: 'promote <service> [--full]',
        summary: 'advance the rollout one step now (--full: straight to 100% and promote)',
        options: ['full'],
      };
    case 'abort':
      return {
        synopsis: 'abort <service> [--reason text]',
        summary: 'stop the rollout and move all traffic back to stable',
        options: ['reason'],
      };
    case 'pause':
      return {
        synopsis: 'pause <service> [--reason text]',
        summary: 'hold the rollout at its current weight',
        options: ['reason'],
      };
    case 'resume':
      return { synopsis: 'resume <service>', summary: 'continue a paused rollout', options: [] };
    default:
      return assertNever(action, 'rollout action');
  }
}

/** No body at all when there is nothing to say: the API accepts an empty POST for every action. */
export function actionBody(action: RolloutAction, v: OptionValues): Record<string, unknown> | undefined {
  switch (action) {
    case 'promote':
      return v.full ? { full: true } : undefined;
    case 'abort':
    case 'pause':
      return v.reason !== undefined ? { reason: v.reason } : undefined;
    case 'resume':
      return undefined;
    default:
      return assertNever(action, 'rollout action');
  }
}

function actionCommand(action: RolloutAction): Command {
  const { synopsis, summary, options } = spec(action);
  return {
    name: action,
    synopsis,
    summary,
    options: [...options, 'admin', 'token'],
    positionals: { min: 1, max: 1 },
    service: true,
    async run(args, io) {
      const service = args.positionals[0] as string;
      return withAdmin(args.values, io, async (session) => {
        const s = await session.post(
          `/v1/services/${encodeURIComponent(service)}/rollout/${action}`,
          actionBody(action, args.values),
          rolloutAnswer,
        );
        if (s === null) return EXIT.failure;
        io.out(`${service}: rollout ${s.id} ${s.phase} (weight ${s.weight}%)${s.reason ? `: ${s.reason}` : ''}`);
        return EXIT.ok;
      });
    },
  };
}

export const promoteCommand = actionCommand('promote');
export const abortCommand = actionCommand('abort');
export const pauseCommand = actionCommand('pause');
export const resumeCommand = actionCommand('resume');
