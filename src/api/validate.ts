// Request bodies are checked with the same zod → Problem mapping as the config file, so the API and
// the CLI name the offending field the same way ("weight: must be between 0 and 100, got 150").
import type { z } from 'zod';
import { validateWith } from '../config/problems.js';
import { err, ok, ValidationError, type Result } from '../domain/errors.js';

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): Result<z.output<S>, ValidationError> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    return err(new ValidationError([{ path: '', message: 'request body must be a JSON object' }]));
  }
  const r = validateWith(schema, body);
  return r.ok ? ok(r.value) : err(new ValidationError(r.error));
}
