// `proxy.requestIdHeader`: the field that carries each request's id. Kept from a trusted peer
// (`proxy.trustedProxies`) when sane, else generated; passed upstream, returned to the client, written
// in the access log and veer's error bodies. `false` turns request ids off.
import { z } from 'zod';
import { headerName } from './values.js';

// Fields that frame or route a request, or that veer writes itself: a request id cannot be one of them.
const VEER_WRITTEN = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'upgrade',
  'via',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'cookie',
  'set-cookie',
]);

export const requestIdHeaderSchema = z
  .union([
    headerName.refine((h) => !VEER_WRITTEN.has(h.toLowerCase()), 'must not be a header veer routes by or rewrites'),
    z.literal(false),
  ])
  .default('x-request-id');
