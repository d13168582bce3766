// The body of `veer rollout`'s request, from its options. Values are checked by the API (one source of
// truth); only what JSON cannot carry (a count or a step that is not a number), lists with empty items
// and contradictory flags are refused here.
import { err, ok, type Result } from '../domain/errors.js';
import type { OptionValues } from './args.js';
import type { FieldFlags } from './field-flags.js';
import { listItems, parseSteps, plainWhole } from './weight.js';

/** The body's fields as the user typed them, to name what the API refuses (items: in the order given). */
export const ROLLOUT_FLAGS: FieldFlags = [
  ['canary.targets', '--targets'],
  ['canary.image', '--image'],
  ['canary.env', '--env'],
  ['canary.count', '--count'],
  ['rollout.steps', '--steps'],
  ['rollout.stepInterval', '--step-interval'],
  ['rollout.strategy', '--strategy'],
];

export function requestBody(v: OptionValues): Result<Record<string, unknown>, string> {
  const canary = canaryOf(v);
  if (!canary.ok) return canary;
  const rollout: Record<string, unknown> = {};
  if (v.steps !== undefined) {
    const steps = parseSteps(v.steps);
    if (!steps.ok) return steps;
    rollout.steps = steps.value;
  }
  if (v['step-interval'] !== undefined) rollout.stepInterval = v['step-interval'];
  if (v.strategy !== undefined) rollout.strategy = v.strategy;
  return ok(Object.keys(rollout).length > 0 ? { canary: canary.value, rollout } : { canary: canary.value });
}

function canaryOf(v: OptionValues): Result<Record<string, unknown>, string> {
  if ((v.targets === undefined) === (v.image === undefined))
    return err('give exactly one of --targets h:p,… or --image img');
  if (v.targets !== undefined) {
    if (v.env !== undefined || v.count !== undefined) return err('--env and --count go with --image, not --targets');
    const targets = listItems('--targets', v.targets, '10.0.0.5:8080,10.0.0.6:8080');
    return targets.ok ? ok({ targets: targets.value }) : targets;
  }
  const canary: Record<string, unknown> = { image: v.image };
  if (v.env !== undefined) canary.env = v.env;
  if (v.count !== undefined) {
    const n = plainWhole(v.count.trim());
    if (n === null) return err(`--count: expected a whole number, got "${v.count}"`);
    canary.count = n;
  }
  return ok(canary);
}
