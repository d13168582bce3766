// A refreshing terminal view without flicker: the alternate screen, the cursor hidden, and each frame
// written over the last one line by line (only the lines that changed, each cleared to its end, and
// the screen below the last line cleared when the frame got shorter); never a full clear per frame.
// Pure: it returns the bytes to write, so the diffing is tested without a terminal.

const ESC = '\x1b[';
/** Alternate screen on, cursor hidden, cleared once (the main screen's text stays where it was). */
export const ENTER_SCREEN = `${ESC}?1049h${ESC}?25l${ESC}H${ESC}2J`;
/** Cursor shown again and the main screen back, as the shell left it. */
export const LEAVE_SCREEN = `${ESC}?25h${ESC}?1049l`;

const moveTo = (row: number): string => `${ESC}${row};1H`;
const CLEAR_LINE_END = `${ESC}K`;
const CLEAR_SCREEN_END = `${ESC}J`;

/**
 * What turns `prev` (null: unknown, e.g. after a resize) into `next` on the screen: '' when nothing
 * changed. Lines must already fit the width (see `fit`), or the terminal would wrap them.
 */
export function paint(prev: readonly string[] | null, next: readonly string[]): string {
  let out = '';
  next.forEach((line, i) => {
    if (prev !== null && prev[i] === line) return;
    out += `${moveTo(i + 1)}${line}${CLEAR_LINE_END}`;
  });
  if (prev === null || prev.length > next.length) out += `${moveTo(next.length + 1)}${CLEAR_SCREEN_END}`;
  return out;
}

/**
 * Lines cut to the terminal: at most `columns` characters each (an ellipsis marks a cut) and at most
 * `rows` lines (the last one saying how many were left out). Undefined sizes cut nothing.
 */
export function fit(lines: readonly string[], columns: number | undefined, rows: number | undefined): string[] {
  const cut = (l: string): string => {
    // Control characters (C0, C1, bidi overrides) from a server would move the cursor or reorder the line.
    const chars = [...l.replace(/[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, ' ')];
    if (columns === undefined || chars.length <= columns) return chars.join('');
    return columns <= 1 ? chars.slice(0, columns).join('') : `${chars.slice(0, columns - 1).join('')}…`;
  };
  if (rows === undefined || lines.length <= rows || rows < 2) return lines.map(cut);
  const kept = lines.slice(0, rows - 1);
  return [...kept, `… ${lines.length - kept.length} more lines (a taller terminal shows them)`].map(cut);
}
