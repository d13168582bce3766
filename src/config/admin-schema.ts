// The `admin` section: the admin API's listener and token, and the dashboard's login sessions.
import { z } from 'zod';
import { tokenProblem } from '../domain/admin-token.js';
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

/** A token that cannot travel in an Authorization header passed the config and then never matched. */
function tokenCheck(token: string, ctx: z.RefinementCtx): void {
  const problem = tokenProblem(token);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
}

export const adminSchema = z
  .object({
    listen: listenAddress.prefault('127.0.0.1:9090'),
    token: z.string().superRefine(tokenCheck).default(''),
    ui: adminUiSchema,
  })
  .strict()
  .prefault({});
