// Text from the command line, a file or a server, made safe to print: a terminal acts on control
// characters (ESC sequences retitle the window or move the cursor; bidi overrides reorder what is
// shown), so an argument or an answer could rewrite the operator's screen. Each such character is
// shown as a \uXXXX escape instead, which also leaves JSON output valid JSON.

/** C0 but tab and newline, DEL, C1, and the bidi embeddings, overrides and isolates. */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function printable(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
