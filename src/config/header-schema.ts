// Headers a config adds to a request veer sends itself (a gate's question, a webhook's post). fetch
// refuses a bad name or value only when the request is made - a gate then fails every attempt and a
// webhook every delivery, long after the config was accepted - so they are refused when it is read.
import { z } from 'zod';

/** RFC 9110 token: the only characters a field name may have. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Visible ASCII, space, tab and obs-text: no CR or LF (a second header), no NUL or other control. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

// Headers that frame the message or that veer sets would corrupt it or be silently overridden, so
// they are refused up front with the reason.
const FRAMING = 'frames the request and is set by veer';
const HOP = 'is about the connection, which veer manages';
const HOP_BY_HOP = ['connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-connection'];

/** Who sends the request: named in the reasons ("cannot be set on a gate"). */
export type HeaderOwner = 'gate' | 'webhook';

/** Names no owner's request may carry, lower case, with the reason. */
function reservedFor(owner: HeaderOwner): Array<[string, string]> {
  return [
    ['host', `is set by veer from the ${owner}'s URL`],
    ['content-length', FRAMING],
    ['transfer-encoding', FRAMING],
    ['expect', `is not supported on ${owner} requests`],
    ...HOP_BY_HOP.map((name): [string, string] => [name, HOP]),
  ];
}

/** Why a header cannot be sent, or null. Neither name nor value is repeated (the path names it). */
function headerProblem(owner: HeaderOwner, reserved: ReadonlyMap<string, string>, name: string, value: string) {
  if (!TOKEN.test(name)) return "is not a valid header name (expected letters, digits and !#$%&'*+-.^_`|~)";
  const why = reserved.get(name.toLowerCase());
  if (why !== undefined) return `cannot be set on a ${owner}: it ${why}`;
  if (CONTROL.test(value)) return 'value must not contain control characters (CR, LF, NUL…; tab is allowed)';
  if (!FIELD_VALUE.test(value)) return 'value must contain only characters up to U+00FF (percent-encode other text)';
  return null;
}

/**
 * A `{name: value}` record of headers `owner` sends; `extra` names more headers it sets itself
 * (lower case, with the reason), besides those every request of veer's own frames or manages.
 */
export function outgoingHeaders(owner: HeaderOwner, extra: ReadonlyArray<[string, string]> = []) {
  const reserved: ReadonlyMap<string, string> = new Map([...reservedFor(owner), ...extra]);
  return z.record(z.string(), z.string()).superRefine((headers, ctx) => {
    const seen = new Set<string>();
    for (const [name, value] of Object.entries(headers)) {
      const why = headerProblem(owner, reserved, name, value);
      if (why !== null) ctx.addIssue({ code: 'custom', path: [name], message: why });
      // Header names are case-insensitive: two spellings would be sent as one, values joined.
      else if (seen.has(name.toLowerCase()))
        ctx.addIssue({ code: 'custom', path: [name], message: 'is given twice (header names ignore case)' });
      seen.add(name.toLowerCase());
    }
  });
}
