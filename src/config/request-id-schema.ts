// `proxy.requestIdHeader`: the field that carries each request's id. Kept from a trusted peer
// (`proxy.trustedProxies`) when sane, else generated; passed upstream, returned to the client, written
// in the access log and veer's error bodies. `false` turns request ids off.
import { z } from 'zod';
import { headerName } from './values.js';

// Fields that frame or route a request, or that veer reads or writes itself: the id replaces the client's field
// of its name upstream and the upstream's in the answer, so naming one of these would replace what veer uses
// (a gRPC call's deadline, a browser's Accept for veer's pages, the answers' own Content-Type, Retry-After…).
const VEER_USED = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'keep-alive',
  'proxy-connection',
  'via',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'cookie',
  'set-cookie',
  'accept',
  'location',
  'cache-control',
  'retry-after',
  'strict-transport-security',
  'grpc-timeout',
  'grpc-status',
  'grpc-message',
]);

export const requestIdHeaderSchema = z
  .union([
    headerName.refine((h) => !VEER_USED.has(h.toLowerCase()), {
      error: (iss) =>
        `"${String(iss.input)}" is a header veer routes by, reads or writes itself: expected another name`,
    }),
    z.literal(false),
  ])
  .default('x-request-id');

/**
 * The request id and the pool override in one field: every request would carry its id where the override is
 * read, so a trusted peer's id would pick a pool. Checked on the `proxy` section (both fields known).
 */
export function requestIdIsOverride(
  proxy: { requestIdHeader: string | false; overrideHeader: string | false },
  ctx: z.RefinementCtx,
): void {
  const { requestIdHeader: id, overrideHeader: override } = proxy;
  if (id === false || override === false || id.toLowerCase() !== override.toLowerCase()) return;
  ctx.addIssue({
    code: 'custom',
    path: ['requestIdHeader'],
    message: `"${id}" is also proxy.overrideHeader: expected a name of its own`,
  });
}
