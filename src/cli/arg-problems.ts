// Why a command line could not be parsed, in one line naming the option. node:util's parseArgs says it in
// its own words (several lines, an unbalanced quote, "Option '-c, --config <value>' argument missing") and
// they change between Node versions: the line is rebuilt here from a lenient parse of the same arguments.
import { parseArgs } from 'node:util';
import { errorMessage } from '../domain/errors.js';
import type { OptionName, ValueOption } from './args.js';

interface Spec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}

/** What each option that takes a value wants, for "--config needs a value (a file path)". */
export const VALUE_HINTS: Readonly<Record<ValueOption, string>> = {
  config: 'a file path',
  admin: 'an origin like http://127.0.0.1:9090',
  token: 'a token',
  targets: 'targets like 10.0.0.5:8080,10.0.0.6:8080',
  image: 'an image like app:2',
  env: 'KEY=value',
  count: 'a whole number',
  steps: 'weights like 5,25,100',
  'step-interval': 'a duration like 30s',
  strategy: 'canary or blue-green',
  timeout: 'a duration like 1h',
  reason: 'text',
  runs: 'a whole number',
  policy: 'a file path',
  seed: 'a whole number',
  'max-seconds': 'a number of seconds',
  mode: 'hold or page',
  'retry-after': 'a duration like 30s',
  interval: 'a duration like 2s',
};

export interface ParseProblem {
  message: string;
  /** The first positional: the command, when the line got that far. */
  command: string | undefined;
}

/**
 * The first thing wrong with `args` (already holding parseArgs' markers) for `options`, found by a lenient
 * parse; `thrown` is the strict parse's error, whose first line is the fallback should the lenient one find
 * nothing (a case Node adds later).
 */
export function parseProblem(
  args: readonly string[],
  options: Readonly<Record<OptionName, Spec>>,
  thrown: unknown,
): ParseProblem {
  const { tokens } = parseArgs({ args: [...args], options, allowPositionals: true, strict: false, tokens: true });
  const command = tokens.find((t) => t.kind === 'positional')?.value;
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const message = optionProblem(t, options[t.name as OptionName]);
    if (message !== null) return { message, command };
  }
  return { message: errorMessage(thrown).split('\n')[0] ?? 'the command line could not be read', command };
}

interface OptionToken {
  name: string;
  rawName: string;
  value?: string | undefined;
  inlineValue?: boolean | undefined;
}

function optionProblem(t: OptionToken, spec: Spec | undefined): string | null {
  if (spec === undefined) return `unknown option ${t.rawName}`;
  const name = `--${t.name}`;
  if (spec.type === 'boolean')
    return t.value === undefined ? null : `${name} takes no value, got ${JSON.stringify(`${t.rawName}=${t.value}`)}`;
  const wants = `${name} needs a value (${VALUE_HINTS[t.name as ValueOption]})`;
  if (t.value === undefined) return wants;
  // "-c --json": the next argument was an option, and taking it as the value would hide a mistake.
  if (t.inlineValue === false && t.value.startsWith('-'))
    return `${wants}, got the option ${t.value} (a value starting with "-" is written ${name}=${t.value})`;
  return null;
}
