// An admin request body's text → its value, or the 400/415 that says what is wrong with it. Two things
// JSON.parse takes silently are refused: a charset other than UTF-8 (the bytes would be read as
// UTF-8 all the same) and a key given twice in one object (the last would win, the first be dropped
// without a word: `{"weight": 10, "weight": 90}` is a request that means two things).
import { VeerError, err, errorMessage, ok, type Result } from '../domain/errors.js';

export function parseJsonBody(text: string): Result<unknown, VeerError> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return err(invalidJson(e));
  }
  const twice = duplicateKey(text);
  if (twice === undefined) return ok(value);
  return err(new VeerError('invalid_json', 400, `request body gives ${shownKey(twice)} twice in one object`));
}

/** The charset a JSON body must be in; an error for any other, undefined when it is UTF-8 or not named. */
export function charsetError(contentType: string | undefined): VeerError | undefined {
  const named = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType ?? '')?.[1];
  // US-ASCII bytes read the same as UTF-8 (RFC 8259 has JSON in UTF-8 whatever the label says of ASCII).
  if (named === undefined || /^(utf-?8|us-ascii)$/i.test(named)) return undefined;
  const shown = /^[\w.:-]{1,40}$/.test(named) ? `"${named}"` : '(not shown)';
  return new VeerError('unsupported_media_type', 415, `charset ${shown} is not supported: send the JSON body in UTF-8`);
}

/** V8's message can quote the body, which is never echoed: only the position is kept, when it gives one. */
function invalidJson(e: unknown): VeerError {
  const at = /at position (\d+)/.exec(errorMessage(e))?.[1];
  return new VeerError('invalid_json', 400, `request body is not valid JSON${at ? ` (at position ${at})` : ''}`);
}

/** A key is named when it looks like a field name; anything else might be data that is never echoed. */
const shownKey = (key: string): string => (/^[\w.-]{1,64}$/.test(key) ? `the key "${key}"` : 'a key');

/**
 * The first key some object in `text` gives twice, or undefined. `text` is valid JSON (JSON.parse
 * took it), so a scan of brackets and strings is enough: a string followed by ':' is a key of the
 * innermost open object. Keys are compared decoded ("a" and "\u0061" are the same key).
 */
export function duplicateKey(text: string): string | undefined {
  const open: Array<Set<string> | null> = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') open.push(new Set());
    else if (c === '[') open.push(null);
    else if (c === '}' || c === ']') open.pop();
    else if (c === '"') {
      const end = stringEnd(text, i);
      const keys = open[open.length - 1];
      if (keys && followedByColon(text, end + 1)) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      i = end;
    }
  }
  return undefined;
}

function stringEnd(text: string, start: number): number {
  let j = start + 1;
  while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
  return j;
}

function followedByColon(text: string, from: number): boolean {
  let j = from;
  while (j < text.length && (text[j] === ' ' || text[j] === '\t' || text[j] === '\n' || text[j] === '\r')) j++;
  return text[j] === ':';
}
