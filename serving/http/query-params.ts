/** Zod builders for query-string values, shared by the serving routes' schemas. */
import { z } from 'zod';

/** Digits only become numbers; anything else stays a string and fails with the rule below. */
const digits = (v: unknown) => (typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : v);

export const intParam = (name: string, min: number, max: number, def: number) => {
  const rule = `${name} must be an integer from ${min} to ${max}`;
  return z
    .preprocess(digits, z.number({ error: rule }).int(rule).min(min, rule).max(max, rule))
    .default(def)
    .describe(`${rule}; default ${def}`);
};

export const oneOfIntParam = (name: string, allowed: readonly number[], def: number) => {
  const rule = `${name} must be one of ${allowed.join(', ')}`;
  return z
    .preprocess(digits, z.union(allowed.map((n) => z.literal(n)) as unknown as [z.ZodLiteral<number>, z.ZodLiteral<number>], { error: rule }))
    .default(def)
    .describe(`${rule}; default ${def}`);
};

/** The error body of every non-2xx answer (infra/http/errors-middleware.ts). */
export const ErrorResponseSchema = z.object({
  error: z.object({ code: z.string(), message: z.string().describe('what went wrong and what is allowed') }),
});
