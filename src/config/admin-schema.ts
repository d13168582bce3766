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

export const adminSchema = z
  .object({
    listen: listenAddress.prefault('127.0.0.1:9090'),
    // Sent back in a header, whose value cannot begin or end with whitespace: such a token never matches.
    token: z
      .string()
      .refine((t) => t.trim() === t, 'must not begin or end with whitespace (a header value cannot carry it)')
      .default(''),
    ui: adminUiSchema,
  })
  .strict()
  .prefault({});
