// `veer --help` against the README's CLI section: every option the README shows for a command is in that
// command's synopsis in the help, or, for a synopsis ending in "[options]", under the help's "<Command>
// options:" heading. Read from README.md itself, so a README line and the help cannot drift apart.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/main.js';

const README = new URL('../../../README.md', import.meta.url);
/** A flag as written in a synopsis: "--step-interval", "-c"; not the "-green" of "blue-green". */
const FLAG = /(?<![\w-])--?[a-z][a-z-]*/g;

/** The fenced block under "## CLI": one entry per "veer …" line, with its continuation lines. */
async function readmeEntries(): Promise<string[][]> {
  const text = await readFile(README, 'utf8');
  const section = text.split('\n## CLI\n')[1];
  if (section === undefined) throw new Error('README.md has no "## CLI" section');
  const block = section.split('```')[1] ?? '';
  const entries: string[][] = [];
  for (const line of block.split('\n').filter((l) => l.trim() !== '')) {
    if (line.startsWith('veer ')) entries.push([line]);
    else entries.at(-1)?.push(line);
  }
  return entries;
}

/**
 * The options an entry shows, by command. A line is its synopsis, then (after 3 or more spaces) what it
 * does; an option named there counts too, for the commands a "for a and b" after it names, if any.
 */
function optionsByCommand(entry: readonly string[]): Map<string, Set<string>> {
  const names = (entry[0] ?? '').split(' ')[1]?.split('|') ?? [];
  const byCommand = new Map(names.map((n) => [n, new Set<string>()]));
  for (const line of entry) {
    const [synopsis = '', ...rest] = line.trim().split(/ {3,}/);
    for (const flag of synopsis.match(FLAG) ?? []) for (const n of names) byCommand.get(n)?.add(flag);
    for (const phrase of rest.join(' ').split(/[;(]/)) {
      const only = /\bfor ([a-z]+(?:(?:, | and )[a-z]+)*)\b/.exec(phrase)?.[1]?.split(/, | and /);
      const to = only?.every((n) => names.includes(n)) ? only : names;
      for (const flag of phrase.match(FLAG) ?? []) for (const n of to) byCommand.get(n)?.add(flag);
    }
  }
  return byCommand;
}

async function help(): Promise<string[]> {
  const out: string[] = [];
  const code = await runCli(['--help'], { out: (l) => out.push(l), err: () => {}, env: {} });
  expect(code).toBe(0);
  return out.join('\n').split('\n');
}

/** The lines under a heading of the help, up to the next blank line. */
function section(lines: readonly string[], heading: string): string[] {
  const at = lines.indexOf(heading);
  return at < 0 ? [] : lines.slice(at + 1, lines.indexOf('', at));
}

/** The help's synopsis of `name`, and its "<Name> options:" section when the synopsis defers to it ("[options]"). */
function helpOf(lines: readonly string[], name: string): string {
  const synopsis = lines.find((l) => l.startsWith(`  veer ${name} `) || l === `  veer ${name}`);
  if (synopsis === undefined) return '';
  const text = synopsis.trim().split(/ {2,}/)[0] ?? '';
  const own = text.endsWith('[options]') ? section(lines, `${name[0]?.toUpperCase()}${name.slice(1)} options:`) : [];
  return [text, ...own].join('\n');
}

/** Options of every command that calls the API: the help gives them once, under "Options:", not per synopsis. */
const EVERYWHERE = ['--admin', '--token'];

describe('the help and the README', () => {
  it('reads what each README line shows, by command', () => {
    const abort = optionsByCommand(['veer abort|pause|resume <service>    (--reason "…" for abort and pause)']);
    expect(Object.fromEntries([...abort].map(([n, s]) => [n, [...s]]))).toEqual({
      abort: ['--reason'],
      pause: ['--reason'],
      resume: [],
    });
    const status = optionsByCommand([
      'veer status [service] --watch [--interval 2s]',
      '                 live, Ctrl+C ends it; --timeout without ever getting a status exits 1',
    ]);
    expect([...(status.get('status') ?? [])]).toEqual(['--watch', '--interval', '--timeout']);
  });

  it('the help lists every option the README gives a command, in its synopsis (or its options section)', async () => {
    const lines = await help();
    const entries = await readmeEntries();
    const everywhere = section(lines, 'Options:').join('\n');
    expect(entries.length).toBeGreaterThan(10);
    const missing: string[] = [];
    for (const entry of entries) {
      for (const [name, flags] of optionsByCommand(entry)) {
        const shown = helpOf(lines, name);
        if (shown === '') missing.push(`veer ${name}: not in --help`);
        for (const flag of flags) {
          const within = (text: string) => new RegExp(`(?<![\\w-])${flag}(?![\\w-])`).test(text);
          if (!within(shown) && !(EVERYWHERE.includes(flag) && within(everywhere))) missing.push(`${name} ${flag}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});
