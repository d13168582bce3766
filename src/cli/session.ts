// One admin-API session for a command: resolve the admin address (a usage error when it is bad),
// open a client, run the command's calls, close the client. A failed call prints the API's error
// and becomes exit 1, so commands only handle their success path.
import type { z } from 'zod';
import type { OptionValues } from './args.js';
import { AdminClient, failureLines, resolveAdmin } from './client.js';
import { EXIT, type CliIO, type ExitCode } from './command.js';

export interface Session {
  client: AdminClient;
  /** The answer read as `schema` (answers.ts), or null after printing the failure. */
  get<T>(path: string, schema: z.ZodType<T>): Promise<T | null>;
  post<T>(path: string, body: unknown, schema: z.ZodType<T>): Promise<T | null>;
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
  const report = <T>(
    r: { ok: true; value: T } | { ok: false; error: Parameters<typeof failureLines>[0] },
  ): T | null => {
    if (r.ok) return r.value;
    failureLines(r.error).forEach((l) => io.err(l));
    return null;
  };
  try {
    return await fn({
      client,
      get: async (path, schema) => report(await client.get(path, schema)),
      post: async (path, body, schema) => report(await client.post(path, body, schema)),
    });
  } finally {
    await client.close();
  }
}
