// An operator's action on a rollout, as the machine's event.
import type { RolloutAction } from '../api/ports.js';
import type { MachineEvent } from './machine.js';

export function toEvent(action: RolloutAction, opts: { full: boolean; reason: string | null }): MachineEvent {
  switch (action) {
    case 'promote':
      return { type: 'promote', full: opts.full };
    case 'abort':
      return { type: 'abort', reason: opts.reason ?? 'aborted by operator' };
    case 'pause':
      return { type: 'pause', reason: opts.reason ?? 'paused by operator' };
    case 'resume':
      return { type: 'resume' };
  }
}
