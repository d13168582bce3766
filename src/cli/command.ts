// What every `veer` command is: a name, what it accepts, and a run function returning an exit code.
import type { OptionName, ParsedArgs } from './args.js';

/** Exit codes: scripts and CI branch on these. 64 is EX_USAGE from sysexits.h. */
export const EXIT = { ok: 0, failure: 1, config: 2, usage: 64 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Output and environment, injected so commands never touch `process` for them. */
export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  env: NodeJS.ProcessEnv;
  /** Only when stderr is a terminal: rewrites one status line there ('' clears it). */
  progress?: (text: string) => void;
  /** Standard output as a screen, for views that refresh (`status --watch`); absent: lines via `out`. */
  terminal?: Terminal;
}

/** Standard output and the signals that end a refreshing view. */
export interface Terminal {
  /** A terminal (escape codes allowed), not a pipe or a file. */
  isTTY: boolean;
  /** Its size; undefined when not a terminal. */
  columns(): number | undefined;
  rows(): number | undefined;
  write(text: string): void;
  /** Calls `fn` when the terminal is resized; returns the unsubscribe function. */
  onResize(fn: () => void): () => void;
  /** Calls `fn` on Ctrl+C (SIGINT) or SIGTERM instead of dying; returns the unsubscribe function. */
  onInterrupt(fn: () => void): () => void;
}

export interface Command {
  name: string;
  synopsis: string;
  summary: string;
  options: readonly OptionName[];
  positionals: { min: number; max: number };
  /** The first positional, when given, names a service (checked against the config's name rule). */
  service?: boolean;
  run(args: ParsedArgs, io: CliIO): Promise<ExitCode>;
}
