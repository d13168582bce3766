// Numbers typed on the command line: weights, steps and counts. JavaScript's Number() reads "0x10" as
// 16, "0b1" as 1, "1e2" as 100 and " " as 0, so `veer shift web 0x10` set 16%: only plain decimals
// are taken. The range is the API's to check (one source of truth); a sign is let through so that
// "-5" reaches it and is refused there as out of range, not here as a non-number.
import { err, ok, type Result } from '../domain/errors.js';

// "+10", ".5" and "10." are plain decimals too (Number() took them before, and scripts may write them).
const DECIMAL = /^[-+]?(\d+\.?\d*|\.\d+)$/;
const WHOLE = /^-?\d+$/;

/** "10", "10.5", "10.25" → the number; anything else → null. */
export function plainDecimal(text: string): number | null {
  const t = text.trim();
  return DECIMAL.test(t) ? Number(t) : null;
}

export function plainWhole(text: string): number | null {
  return WHOLE.test(text) ? Number(text) : null;
}

/** A comma-separated list with no empty item ("5,,100" and "a:1," are typos, not shorter lists). */
export function listItems(name: string, text: string, example: string): Result<string[], string> {
  const items = text.split(',').map((x) => x.trim());
  if (items.some((x) => x === ''))
    return err(`${name}: expected a comma-separated list like ${example} without empty items, got "${text}"`);
  return ok(items);
}

/** `--steps 5,25,100`: each a plain decimal. */
export function parseSteps(text: string): Result<number[], string> {
  const bad = `--steps: expected plain decimal weights like 5,25,100, got "${text}"`;
  const items = listItems('--steps', text, '5,25,100');
  if (!items.ok) return items;
  const steps = items.value.map(plainDecimal);
  return steps.every((s): s is number => s !== null) ? ok(steps) : err(bad);
}
