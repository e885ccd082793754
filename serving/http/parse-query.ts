/**
 * Validates a request's query string with the route's zod schema (the same schema the OpenAPI
 * document is generated from) and turns a failure into a 400 that says what is allowed.
 */
import type { z } from 'zod';
import { AppError } from '../../infra/errors';

export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  const r = schema.safeParse(query);
  if (r.success) return r.data;
  throw new AppError('bad_request', describeIssues(r.error.issues, schema, query as Record<string, unknown>));
}

function describeIssues(issues: z.core.$ZodIssue[], schema: z.ZodType, query: Record<string, unknown>): string {
  return issues
    .map((i) => {
      if (i.code === 'unrecognized_keys') {
        const allowed = Object.keys((schema as unknown as { shape?: object }).shape ?? {});
        return `unknown parameter(s) ${i.keys.join(', ')}; allowed: ${allowed.join(', ')}`;
      }
      const where = i.path.length ? `${i.path.join('.')}: ` : '';
      // A repeated parameter arrives as an array; say so instead of "expected string".
      const repeated = i.path.length === 1 && Array.isArray(query?.[String(i.path[0])]);
      const msg = repeated ? 'must be given once, as a single value' : i.message;
      return `${where}${msg}`;
    })
    .join('; ');
}
