// How veer talks to a service's targets: HTTP/1.1 (the default) or HTTP/2 with prior knowledge (h2c,
// e.g. for gRPC), and which gRPC statuses count as a failed call for the judge.
import { z } from 'zod';
import { DEFAULT_GRPC_ERROR_CODES, GRPC_CODES, parseGrpcCode } from '../domain/grpc-status.js';

const grpcCode = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const code = parseGrpcCode(v);
  if (code === null) {
    const names = Object.keys(GRPC_CODES).join(', ');
    ctx.addIssue({ code: 'custom', message: `expected a gRPC status name (${names}) or number 0-16, got "${v}"` });
    return z.NEVER;
  }
  return code;
});

export const upstreamSchema = z
  .object({
    protocol: z.enum(['http1', 'h2c']).default('http1'),
    /** gRPC calls ending with one of these count as errors for the judge (names or numbers). */
    grpcErrorCodes: z.array(grpcCode).prefault([...DEFAULT_GRPC_ERROR_CODES]),
  })
  .strict()
  .prefault({});

export type UpstreamConfig = z.output<typeof upstreamSchema>;
