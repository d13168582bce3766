// Where `veer status --watch` shows its frames. On a terminal: the alternate screen, repainted in place
// (only what changed) and restored on close. Elsewhere (a pipe, a file, `| tee`): a block of plain lines
// each time the numbers change, with no escape codes.
import type { Terminal } from './command.js';
import { ENTER_SCREEN, LEAVE_SCREEN, fit, paint } from './screen.js';

export interface StatusSink {
  /** Shows the frame; its first line is the header (its clock alone is no reason to print a block). */
  show(lines: readonly string[]): void;
  /** The screen's content is unknown (a resize): the next frame is painted whole. */
  reset(): void;
  /** Restores the terminal. Idempotent. */
  close(): void;
}

export function screenSink(term: Terminal): StatusSink {
  let shown: string[] | null = null;
  let entered = false;
  let closed = false;
  return {
    show(lines) {
      if (closed) return;
      const next = fit(lines, term.columns(), term.rows());
      const bytes = paint(shown, next);
      shown = next;
      if (bytes === '') return;
      if (!entered) term.write(ENTER_SCREEN);
      entered = true;
      term.write(bytes);
    },
    reset() {
      shown = null;
    },
    close() {
      if (closed) return;
      closed = true;
      if (entered) term.write(LEAVE_SCREEN);
    },
  };
}

export function plainSink(writeLine: (line: string) => void): StatusSink {
  let lastBody: string | null = null;
  return {
    show(lines) {
      const body = lines.slice(1).join('\n');
      if (body === lastBody) return;
      lastBody = body;
      for (const l of fit(lines, undefined, undefined)) writeLine(l);
      writeLine('');
    },
    reset() {
      lastBody = null;
    },
    close() {},
  };
}
