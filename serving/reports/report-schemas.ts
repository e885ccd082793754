/**
 * The report routes' query and response shapes (DESIGN.md sections 5 and 7). The routes
 * validate with these schemas and the OpenAPI document is generated from them.
 */
import { z } from 'zod';
import { DIMENSIONS, METRIC_NAMES } from '../../schemas/views';
import { TIME_RULE, TZ_RULE } from './report-time';

export const GRANULARITIES = ['hourly', 'daily'] as const;
export type Granularity = (typeof GRANULARITIES)[number];
export const SOURCES = ['batch', 'speed', 'mixed'] as const;
export type Source = (typeof SOURCES)[number];

export const DEFAULT_METRICS = ['events', 'uv'] as const;
/** Bounds on filter values: enough for any real selection, small enough to keep SQL cheap. */
export const MAX_FILTER_VALUES = 100;
export const MAX_FILTER_VALUE_CHARS = 256;

const filterParam = (dim: string) =>
  z
    .preprocess(
      (v) => (typeof v === 'string' ? [v] : v),
      z
        .array(z.string().max(MAX_FILTER_VALUE_CHARS, `each filter value has at most ${MAX_FILTER_VALUE_CHARS} characters`))
        .max(MAX_FILTER_VALUES, `at most ${MAX_FILTER_VALUES} values per filter`),
    )
    .optional()
    .describe(`keep events whose ${dim} is one of these values (repeat to OR; an empty value matches '')`);

export const FILTER_PARAMS = Object.fromEntries(DIMENSIONS.map((d) => [`filter.${d}`, filterParam(d)])) as Record<`filter.${(typeof DIMENSIONS)[number]}`, ReturnType<typeof filterParam>>;

export const ReportQuerySchema = z.strictObject({
  from: z
    .string({ error: `from is required and ${TIME_RULE}` })
    .describe(`start of the range, inclusive: buckets starting at or after it; ${TIME_RULE}`)
    .meta({ examples: ['2026-11-23', '2026-11-23T14:00:00Z'] }),
  to: z
    .string({ error: `to is required and ${TIME_RULE}` })
    .describe(`end of the range, exclusive: buckets starting before it; ${TIME_RULE}`)
    .meta({ examples: ['2026-11-24', '2026-11-23T18:00:00+08:00'] }),
  metrics: z
    .string()
    .optional()
    .describe(`comma-separated metrics (default events,uv): ${METRIC_NAMES.join(', ')}`)
    .meta({ examples: ['events,uv', 'installs,revenue'] }),
  group_by: z
    .string()
    .optional()
    .describe(`comma-separated dimensions (default none): ${DIMENSIONS.join(', ')}`)
    .meta({ examples: ['country', 'channel,campaign_id'] }),
  tz: z
    .string()
    .optional()
    .describe(`${TZ_RULE}; default +00:00. Daily buckets are days in tz; dates in from/to are midnights in tz`)
    .meta({ examples: ['+08:00', '-05:00'] }),
  ...FILTER_PARAMS,
});
export type ReportQueryInput = z.output<typeof ReportQuerySchema>;

export const ReportRowSchema = z
  .object({
    bucket: z.string().describe('bucket start, ISO-8601: 2026-11-23T14:00:00Z hourly, 2026-11-23T00:00:00+08:00 daily'),
    source: z.enum(SOURCES).describe('batch views, speed views, or a daily bucket spanning a covered and an uncovered UTC day'),
  })
  .catchall(z.union([z.string(), z.number()]))
  .describe('one row per (bucket, group) with at least one event passing the filters: the group_by dimensions (strings) and the metrics (numbers)');

export const ReportResponseSchema = z.object({
  app_id: z.string(),
  granularity: z.enum(GRANULARITIES),
  from: z.string(),
  to: z.string(),
  tz: z.string(),
  boundary: z.string().nullable().describe('end of the latest UTC day covered by batch views; null when none is'),
  rows: z.array(ReportRowSchema),
});
export type ReportResponse = z.infer<typeof ReportResponseSchema>;
export type ReportRow = z.infer<typeof ReportRowSchema>;
