// What each step of a rollout needs before it may pass: canary requests since its first traffic
// (evidence carries across steps) and requests of its own (a step never passes on earlier traffic
// alone); and whether a service's traffic can give them before the progress deadline.
import type { RolloutPolicy, RolloutState } from '../domain/rollout.js';
import { lastJudgedStep } from './progression.js';

/** What the warning says will happen at the deadline, so it never says "pause" before a rollback. */
const AT_DEADLINE: Record<RolloutPolicy['onDeadline'], string> = { pause: 'pause', rollback: 'roll back' };

/**
 * The canary requests (since its first traffic) a step needs before it may pass: minRequests by the
 * last judged step, a proportional share before. Evidence carries across steps, so a low-traffic
 * service is not made to gather minRequests again at every step. Blue-green preview: the new pool
 * sees only override traffic, so the gate does not apply (what preview traffic there is is judged).
 */
export function requiredSoFar(s: RolloutState): number {
  const p = s.policy;
  if (s.strategy === 'blue-green') return s.step === 0 ? 0 : p.minRequests;
  const judged = lastJudgedStep(p.steps) + 1;
  return Math.ceil((p.minRequests * Math.min(s.step + 1, judged)) / judged);
}

/** What the step itself must have served: an equal part of minRequests (none in a blue-green preview). */
export function stepMinRequests(s: RolloutState): number {
  if (s.strategy === 'blue-green') return s.step === 0 ? 0 : s.policy.minRequests;
  return Math.ceil(s.policy.minRequests / (lastJudgedStep(s.policy.steps) + 1));
}

/**
 * At `rps` requests per second (both pools), whether every judged step can serve what it needs within
 * progressDeadline; if not, why, and what would work: a first step large enough, or fewer
 * minRequests. Null when the traffic suffices, when there is no traffic to measure yet, or for
 * blue-green (its switch is one step of all traffic).
 */
export function lowTrafficWarning(s: RolloutState, rps: number): string | null {
  const p = s.policy;
  if (s.strategy !== 'canary' || !(rps > 0)) return null;
  const judged = lastJudgedStep(p.steps) + 1;
  const own = stepMinRequests(s);
  const deadlineS = p.progressDeadline / 1000;
  let served = 0;
  for (let i = 0; i < judged; i++) {
    const weight = p.steps[i] as number;
    const r = (rps * weight) / 100;
    const soFar = requiredSoFar({ ...s, step: i });
    const seconds = Math.max(p.stepInterval / 1000, own / r, (soFar - served) / r);
    if (seconds > deadlineS) {
      const firstWeight = Math.min(100, Math.ceil((100 * own) / (rps * deadlineS)));
      const fewer = Math.floor((rps * (p.steps[0] as number) * deadlineS * judged) / 100);
      return (
        `at about ${rps.toFixed(1)} req/s, step ${i + 1} (${weight}%) needs about ${Math.ceil(seconds)} s to serve ` +
        `its canary requests (minRequests ${p.minRequests}), longer than progressDeadline (${deadlineS}s): the ` +
        `rollout will ${AT_DEADLINE[p.onDeadline]} there. Steps that would work start at ${firstWeight}% or more, ` +
        `or set minRequests to ${fewer} or less`
      );
    }
    served += r * seconds;
  }
  return null;
}
