// The `admin` section: the admin API's listener and token, and the dashboard's login sessions.
import { z } from 'zod';
import { lifetimeValue, listenAddress } from './values.js';

/** The web dashboard at /ui (its login sessions; the page itself needs no setting). */
const adminUiSchema = z
  .object({
    /** How long a login lasts; sessions live in the replica's memory and also end on restart. */
    sessionTtl: lifetimeValue.refine((ms) => ms >= 1000, { message: 'must be at least 1s' }).prefault('12h'),
    /** `auto`: the cookie is Secure when the admin API is reached over https (a TLS connection). */
    secureCookie: z.enum(['auto', 'always', 'never']).default('auto'),
  })
  .strict()
  .prefault({});

/**
 * The token travels in an Authorization header, `Bearer <token>`: a header value cannot begin or end with
 * whitespace, the bearer form ends at the first space, and a header is read as Latin-1 (a non-ASCII character
 * arrives as other characters). A token with any of these passed the config and then never matched. The
 * message names the character and its place, never the token.
 */
function tokenProblem(token: string, ctx: z.RefinementCtx): void {
  if (token.trim() !== token) {
    ctx.addIssue({ code: 'custom', message: 'must not begin or end with whitespace (a header value cannot carry it)' });
    return;
  }
  const at = token.search(/[^\x21-\x7e]/);
  if (at === -1) return;
  const ch = token.codePointAt(at) as number;
  const what = ch === 0x20 ? 'a space' : `U+${ch.toString(16).toUpperCase().padStart(4, '0')}`;
  ctx.addIssue({
    code: 'custom',
    message:
      `must be printable ASCII without spaces, found ${what} at character ${at + 1} ` +
      '(the token travels in an Authorization header as "Bearer <token>")',
  });
}

export const adminSchema = z
  .object({
    listen: listenAddress.prefault('127.0.0.1:9090'),
    token: z.string().superRefine(tokenProblem).default(''),
    ui: adminUiSchema,
  })
  .strict()
  .prefault({});
