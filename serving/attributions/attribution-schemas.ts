/** Query and response shapes of `GET /v1/apps/{app}/attributions` (DESIGN.md section 7). */
import { z } from 'zod';
import { intParam } from '../http/query-params';
import { TIME_RULE } from '../reports/report-time';

export const OUTCOMES = ['attributed', 'organic', 'rejected'] as const;
export const MAX_ATTRIBUTIONS_LIMIT = 1000;

export const AttributionsQuerySchema = z.strictObject({
  from: z.string({ error: `from is required and ${TIME_RULE}` }).describe(`install time from (inclusive); ${TIME_RULE} (dates are UTC midnights)`).meta({ examples: ['2026-11-23'] }),
  to: z.string({ error: `to is required and ${TIME_RULE}` }).describe(`install time to (exclusive); ${TIME_RULE}`).meta({ examples: ['2026-11-24'] }),
  channel: z.string().max(256, 'channel has at most 256 characters').optional().describe('only installs credited to this channel ("organic" for organic installs)'),
  outcome: z.enum(OUTCOMES, { error: `outcome must be one of ${OUTCOMES.join(', ')}` }).optional(),
  limit: intParam('limit', 1, MAX_ATTRIBUTIONS_LIMIT, 100),
  cursor: z.string().max(512, 'cursor is too long').optional().describe('next_cursor of the previous page'),
});
export type AttributionsQueryInput = z.output<typeof AttributionsQuerySchema>;

export const AttributionRowSchema = z.object({
  install_event_id: z.string(),
  device_id: z.string(),
  ts: z.string().describe('install event time, ISO-8601 UTC'),
  outcome: z.enum(OUTCOMES),
  match: z.enum(['device', 'probabilistic']).nullable(),
  click_event_id: z.string().nullable(),
  channel: z.string(),
  campaign_id: z.string(),
  ctit_ms: z.number().int().nullable().describe('install time minus click time, ms'),
  fraud_reason: z.string().nullable(),
  source: z.enum(['batch', 'speed']),
});
export const AttributionsResponseSchema = z.object({
  rows: z.array(AttributionRowSchema).describe('first installs by (ts, install_event_id)'),
  next_cursor: z.string().nullable().describe('pass as cursor for the next page; null on the last page'),
});
export type AttributionRow = z.infer<typeof AttributionRowSchema>;
