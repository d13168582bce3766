// One admin-API session for a command: resolve the admin address (a usage error when it is bad),
// open a client, run the command's calls, close the client. A failed call prints the API's error
// and becomes exit 1 (64 when the API refused a value the user typed), so commands only handle their
// success path.
import type { z } from 'zod';
import { err, type Result } from '../domain/errors.js';
import type { OptionValues } from './args.js';
import { AdminClient, failureLines, resolveAdmin, type ClientFailure } from './client.js';
import { EXIT, type CliIO, type ExitCode } from './command.js';
import { typedValueFailure, type FieldFlags } from './field-flags.js';

export interface Session {
  client: AdminClient;
  /** The answer read as `schema` (answers.ts), or null after printing the failure. */
  get<T>(path: string, schema: z.ZodType<T>): Promise<T | null>;
  post<T>(path: string, body: unknown, schema: z.ZodType<T>): Promise<T | null>;
  /**
   * A POST of values the user typed: the answer, or the exit code after printing the failure. A value the
   * API refuses (400 invalid_request) is a usage error, each problem named by its flag in `flags`.
   */
  send<T>(path: string, body: unknown, schema: z.ZodType<T>, flags: FieldFlags): Promise<Result<T, ExitCode>>;
}

/** `timeoutMs`: per call; longer for calls that wait on Docker (prune stops containers). */
export async function withAdmin(
  values: OptionValues,
  io: CliIO,
  fn: (s: Session) => Promise<ExitCode>,
  timeoutMs?: number,
): Promise<ExitCode> {
  const target = resolveAdmin(values, io.env);
  if (!target.ok) {
    io.err(`error: ${target.error.message}`);
    return EXIT.usage;
  }
  const client = new AdminClient(target.value, timeoutMs);
  const report = <T>(r: Result<T, ClientFailure>): T | null => {
    if (r.ok) return r.value;
    failureLines(r.error).forEach((l) => io.err(l));
    return null;
  };
  const typed = <T>(r: Result<T, ClientFailure>, flags: FieldFlags): Result<T, ExitCode> => {
    if (r.ok) return r;
    const usage = typedValueFailure(r.error, flags);
    failureLines(usage ?? r.error).forEach((l) => io.err(l));
    return err(usage ? EXIT.usage : EXIT.failure);
  };
  try {
    return await fn({
      client,
      get: async (path, schema) => report(await client.get(path, schema)),
      post: async (path, body, schema) => report(await client.post(path, body, schema)),
      send: async (path, body, schema, flags) => typed(await client.post(path, body, schema), flags),
    });
  } finally {
    await client.close();
  }
}
